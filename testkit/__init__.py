"""What the tests (``tests/``) and the benchmarks (``benchmarks/``) share; neither imports the other.

- :mod:`testkit.emulator`: the local Discord (REST, Gateway, OAuth2) the real bot runs against,
  with the vendored ``discord-api-spec`` it validates bodies with (see its README);
- :mod:`testkit.bot_process`: ``python -m bot`` as a child process, its environment and log;
- :mod:`testkit.fake_time`: faked time: ``FakeClock`` to inject in this process, libfaketime
  for a bot process; :mod:`testkit.virtual_clock`: a whole asyncio loop on virtual time (the
  simulated day);
- :mod:`testkit.population`: seeded synthetic members and subscriptions (zones, times);
- :mod:`testkit.ports`: ports for servers, without the "find a free port" race;
- :mod:`testkit.pg_server`: a throwaway PostgreSQL cluster in a temporary folder;
- :mod:`testkit.dashboard`: the bot's dashboard settings and a plain-HTTP browser for it.

It needs no pytest: a helper that cannot work here (no libfaketime, no PostgreSQL) raises or
returns a reason, and the tests turn that into a skip. It is not part of the installed
product (``[tool.setuptools.packages.find]`` leaves it out); run from the repository's root,
as ``scripts/test`` and ``python -m benchmarks.scale`` do.
"""
