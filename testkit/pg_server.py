"""A throwaway PostgreSQL server for tests and benchmarks: its own cluster in a temporary folder.

Debian's ``postgresql`` package (``scripts/test`` installs it when it can) puts ``initdb`` and
``postgres`` in ``/usr/lib/postgresql/<version>/bin``. The server refuses to run as root, so
as root it runs as the ``postgres`` user the package creates (through ``runuser``). It listens
on 127.0.0.1 on a free port (see :mod:`testkit.ports`), and on a socket in its own folder,
never the system's, with durability off (``fsync``, ``full_page_writes``, ``synchronous_commit``): a test cluster that
crashes is thrown away anyway, and start-up and every commit are much faster.

The superuser has a password and TCP connections must give it (``scram-sha-256``), so the
bad-credentials path of the bot is exercised for real. Each test gets a fresh database
(``CREATE DATABASE`` is a file copy of ``template1``: a few milliseconds with fsync off).

When the server cannot be started (no binaries, root without a ``postgres`` user…),
:func:`start_or_skip_reason` returns one line saying why and the PostgreSQL tests skip.
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from testkit.ports import PortTaken, on_a_free_port

USER = "steady_test"


def _find_bin_dir() -> Path | None:
    """The newest installed PostgreSQL's binaries (Debian), or wherever ``initdb`` is on PATH."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: (
            int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0
        ),
    )
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("initdb")
    return Path(found).resolve().parent if found else None


@dataclass
class PostgresServer:
    bin_dir: Path
    folder: Path
    run_as: str | None  # a user to run the server as (we are root), or None for ourselves
    port: int = 0
    password: str = field(default_factory=lambda: secrets.token_hex(12))
    _process: subprocess.Popen[bytes] | None = None

    @property
    def data_dir(self) -> Path:
        return self.folder / "data"

    def url(self, database: str = "postgres", password: str | None = None) -> str:
        secret = self.password if password is None else password
        return f"postgresql://{USER}:{secret}@127.0.0.1:{self.port}/{database}"

    def _command(self, *args: str) -> list[str]:
        return ["runuser", "-u", self.run_as, "--", *args] if self.run_as else list(args)

    def init(self) -> None:
        pwfile = self.folder / "pw"
        pwfile.write_text(self.password)
        if self.run_as:
            record = pwd.getpwnam(self.run_as)
            for path in (self.folder, pwfile):
                os.chown(path, record.pw_uid, record.pw_gid)
        subprocess.run(
            self._command(
                str(self.bin_dir / "initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                USER,
                f"--pwfile={pwfile}",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--no-sync",
                "--no-instructions",
                "-E",
                "UTF8",
                "--locale=C",
            ),
            check=True,
            capture_output=True,
        )
        pwfile.unlink()

    def start(self, timeout: float = 20.0) -> None:
        """Start (or start again, on the same port and data) and wait until it accepts.

        PostgreSQL cannot listen on port 0, so the first start takes a free port and tries
        another if that one is taken meanwhile (:mod:`testkit.ports`); a restart keeps its
        port, since URLs with it are out there.
        """
        if self.port:
            self._start_on(self.port, timeout)
        else:
            on_a_free_port(lambda port: self._start_on(port, timeout))

    def _start_on(self, port: int, timeout: float) -> None:
        self.port = port
        self._process = subprocess.Popen(
            self._command(
                str(self.bin_dir / "postgres"),
                "-D",
                str(self.data_dir),
                "-p",
                str(self.port),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                f"unix_socket_directories={self.folder}",
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "max_connections=300",
                "-c",
                "shared_buffers=64MB",
                "-c",
                "log_min_messages=fatal",
            ),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=open(self.folder / "server.log", "ab"),  # noqa: SIM115 (closed with the process)
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                tail = self.log_tail()
                # What it says (at log_min_messages=fatal) when it could not bind its port.
                if "could not create any TCP/IP sockets" in tail or "already in use" in tail:
                    raise PortTaken(f"postgres could not listen on {port}: {tail}")
                raise RuntimeError(f"postgres exited: {tail}")
            ready = subprocess.run(
                [
                    str(self.bin_dir / "pg_isready"),
                    "-q",
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                    "-d",
                    "postgres",
                ],
                capture_output=True,
            )
            if ready.returncode == 0:
                return
            time.sleep(0.05)
        raise RuntimeError(f"postgres did not accept connections within {timeout}s")

    def stop(self, mode: str = "fast") -> None:
        """``fast`` disconnects everyone and shuts down cleanly; ``immediate`` is like a crash."""
        if self._process is None or self._process.poll() is not None:
            return
        subprocess.run(
            self._command(
                str(self.bin_dir / "pg_ctl"), "stop", "-D", str(self.data_dir), "-m", mode, "-s"
            ),
            capture_output=True,
            timeout=30,
        )
        try:
            self._process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()

    def restart(self) -> None:
        self.stop()
        self.start()

    def log_tail(self, lines: int = 5) -> str:
        path = self.folder / "server.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return " | ".join(text.strip().splitlines()[-lines:])

    def remove(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.folder, ignore_errors=True)


def start_or_skip_reason() -> tuple[PostgresServer | None, str]:
    """A running throwaway server, or None and one line saying why there is none."""
    bin_dir = _find_bin_dir()
    if bin_dir is None or not (bin_dir / "postgres").exists():
        return None, "PostgreSQL is not installed (apt-get install postgresql); skipping its tests"
    run_as = None
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return None, "running as root and there is no 'postgres' user to run PostgreSQL as"
        if shutil.which("runuser") is None:
            return None, "running as root and runuser is missing to start PostgreSQL as 'postgres'"
        run_as = "postgres"
    folder = Path(tempfile.mkdtemp(prefix="steady-pg-"))
    server = PostgresServer(bin_dir=bin_dir, folder=folder, run_as=run_as)
    try:
        server.init()
        server.start()
    except (OSError, subprocess.SubprocessError, RuntimeError, PortTaken) as error:
        detail = getattr(error, "stderr", b"") or b""
        server.remove()
        reason = detail.decode(errors="replace").strip().splitlines()[-1:] or [str(error)]
        return None, f"could not start a throwaway PostgreSQL: {reason[0]}"
    return server, ""
