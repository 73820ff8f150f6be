"""The test house's own rules (docs/testing.md), checked on the source so a slip fails here:
tests and benchmarks share ``testkit`` and never import each other; helpers live in helper
modules, never in a ``test_*.py``; ``testkit`` runs without pytest."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports (absolute imports; the project uses no relative ones)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def sources(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def top(module: str) -> str:
    return module.split(".")[0]


@pytest.mark.parametrize(
    ("folder", "forbidden"),
    [("tests", {"benchmarks"}), ("benchmarks", {"tests"}), ("testkit", {"tests", "benchmarks"})],
)
def test_tests_and_benchmarks_share_testkit_and_never_import_each_other(
    folder: str, forbidden: set[str]
) -> None:
    wrong = [
        f"{path.relative_to(ROOT)} imports {module}"
        for path in sources(folder)
        for module in imported_modules(path)
        if top(module) in forbidden
    ]
    assert wrong == []


def test_testkit_runs_without_pytest() -> None:
    wrong = [
        f"{path.relative_to(ROOT)} imports {module}"
        for path in sources("testkit")
        for module in imported_modules(path)
        if top(module) in {"pytest", "_pytest"}
    ]
    assert wrong == [], "testkit raises or returns a reason; the tests turn it into a skip"


def test_shared_helpers_live_in_helper_modules_not_in_test_modules() -> None:
    wrong = [
        f"{path.relative_to(ROOT)} imports {module}"
        for folder in ("tests", "benchmarks", "testkit")
        for path in sources(folder)
        for module in imported_modules(path)
        if top(module) in {"tests", "benchmarks", "testkit"}
        and module.split(".")[-1].startswith("test_")
    ]
    assert wrong == []


def test_every_test_module_has_tests() -> None:
    """A ``test_*.py`` without a test is a helper module in disguise (pytest collects it)."""
    empty = []
    for path in sorted((ROOT / "tests").rglob("test_*.py")):
        tree = ast.parse(path.read_text(), str(path))
        if not any(
            isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
            and node.name.startswith(("test_", "Test"))
            for node in tree.body
        ):
            empty.append(str(path.relative_to(ROOT)))
    assert empty == []
