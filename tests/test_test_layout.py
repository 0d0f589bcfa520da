"""The suite's own layout: a test module imports from ``tests.`` only ``tests.support.*`` and
``tests.factories``, never another test module or a conftest (shared fixtures are found by pytest
in conftest.py files); and tests/support/ holds helpers only, no tests.

Read from the source with ``ast``, so a violation is reported as file:line without importing it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
ALLOWED = ("tests.support", "tests.factories")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _absolute(path: Path, node: ast.ImportFrom) -> str:
    """The module an ``import from`` names, relative imports resolved against ``path``'s package."""
    if not node.level:
        return node.module or ""
    package = _module_name(path).split(".")
    if path.name != "__init__.py":
        package.pop()
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _allowed(module: str) -> bool:
    return any(module == allowed or module.startswith(allowed + ".") for allowed in ALLOWED)


def _is_ours(module: str) -> bool:
    return module == "tests" or module.startswith("tests.")


def import_problems(path: Path, source: str) -> list[str]:
    """Every import of a ``tests.`` module other than tests.support.* and tests.factories, and
    every import of a conftest, as ``file:line: what``."""
    where = path.relative_to(ROOT)
    problems = []
    tree = ast.parse(source, filename=str(path))
    imports = [n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)]
    for node in sorted(imports, key=lambda n: n.lineno):
        imported: list[str] = []
        if isinstance(node, ast.Import):
            imported = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = _absolute(path, node)
            if module == "tests" or (node.level and node.module is None):
                # ``from tests import x`` / ``from . import x``: each name may be a module.
                imported = [f"{module}.{alias.name}" for alias in node.names]
            else:
                imported = [module]
        for module in imported:
            if "conftest" in module.split("."):
                problems.append(f"{where}:{node.lineno}: imports a conftest ({module})")
            elif _is_ours(module) and not _allowed(module):
                problems.append(
                    f"{where}:{node.lineno}: imports {module}; from tests. only tests.support.* and "
                    "tests.factories may be imported"
                )
    return problems


def support_test_problems(path: Path, source: str) -> list[str]:
    """Test functions and test classes that pytest would collect from a support module."""
    where = path.relative_to(ROOT)
    problems = []
    for node in ast.parse(source, filename=str(path)).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test"):
            problems.append(f"{where}:{node.lineno}: defines the test function {node.name}")
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            problems.append(f"{where}:{node.lineno}: defines the test class {node.name}")
    return problems


def _modules() -> list[Path]:
    return sorted(p for p in TESTS.rglob("*.py") if "__pycache__" not in p.parts)


def test_test_modules_import_only_support_and_factories_from_tests() -> None:
    problems = [problem for path in _modules() for problem in import_problems(path, path.read_text())]
    assert not problems, "\n".join(problems)


def test_support_modules_define_no_tests() -> None:
    support = TESTS / "support"
    assert (support / "__init__.py").is_file()
    problems = [
        problem
        for path in _modules()
        if support in path.parents
        for problem in support_test_problems(path, path.read_text())
    ]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("relative", "source", "expected"),
    [
        (
            "tests/alerts/test_x.py",
            "from tests.alerts.test_y import helper\n",
            ["tests/alerts/test_x.py:1: imports tests.alerts.test_y"],
        ),
        (
            "tests/alerts/test_x.py",
            "import os\n\nfrom tests.conftest import TEST_KEY\n",
            ["tests/alerts/test_x.py:3: imports a conftest (tests.conftest)"],
        ),
        (
            "tests/live/conftest.py",
            "from tests.browser.conftest import chromium\n",
            ["tests/live/conftest.py:1: imports a conftest (tests.browser.conftest)"],
        ),
        (
            "tests/alerts/test_x.py",
            "from .support import Clock\n",
            ["tests/alerts/test_x.py:1: imports tests.alerts.support"],
        ),
        (
            "tests/alerts/test_x.py",
            "from . import conftest\n",
            ["tests/alerts/test_x.py:1: imports a conftest (tests.alerts.conftest)"],
        ),
        (
            "tests/alerts/test_x.py",
            "from tests import helpers\n",
            ["tests/alerts/test_x.py:1: imports tests.helpers"],
        ),
        (
            "tests/alerts/test_x.py",
            "def f():\n    import tests.wabas.support\n",
            ["tests/alerts/test_x.py:2: imports tests.wabas.support"],
        ),
        (
            "tests/alerts/test_x.py",
            "from tests.support.smtp import Inbox\nfrom tests.factories import login\n",
            [],
        ),
        ("tests/support/x.py", "from .ports import free_port\nfrom tests import factories\n", []),
    ],
)
def test_the_import_check_names_what_it_finds(relative: str, source: str, expected: list[str]) -> None:
    """Proves the empty answers above mean something: each kind of import is caught, at its line."""
    found = import_problems(ROOT / relative, source)
    assert len(found) == len(expected), found
    for problem, start in zip(found, expected, strict=True):
        assert problem.startswith(start), problem


def test_the_support_check_names_tests_it_finds() -> None:
    source = "import pytest\n\n\ndef helper():\n    pass\n\n\nasync def test_x():\n    pass\n\n\nclass TestY:\n    pass\n"
    found = support_test_problems(ROOT / "tests/support/x.py", source)
    assert found == [
        "tests/support/x.py:8: defines the test function test_x",
        "tests/support/x.py:12: defines the test class TestY",
    ]
