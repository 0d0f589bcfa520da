"""The layering of ``app/``, read from its imports (docs/architecture.md explains it).

- Composition roots (``app.main``, ``app.worker``, ``app.cli``) are imported by no other module
  (``app.cli`` may import the other two, ``app.main`` the worker).
- Plumbing (``lib``, ``db``, ``web``, ``jobs``, ``graph``, ``settings``) imports no domain.
- No import cycle between packages: every import counts, also those inside functions and those
  under ``TYPE_CHECKING``.
- A tenant table (one with an ``org_id`` column) is read (``select``, ``session.get``, a join,
  ``select_from``) only in its own package's ``queries`` module, or by ``staff``, which looks across
  tenants on purpose.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import DeclarativeBase

import app.schema  # noqa: F401  (every model registered)
from app.db.base import Base

APP = Path(__file__).resolve().parent.parent / "app"
ROOTS = ("app.main", "app.worker", "app.cli")
ROOT_MAY_IMPORT = {"app.cli": {"app.main", "app.worker"}, "app.main": {"app.worker"}, "app.worker": set()}
PLUMBING = {"lib", "db", "web", "jobs", "graph", "settings"}
CROSS_TENANT = {"staff"}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # the module imported (for ``from m import name``: m.name when that is a module)
    line: int
    type_only: bool


def module_name(path: Path) -> str:
    parts = list(path.relative_to(APP.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, ast.Module]:
    return {module_name(p): ast.parse(p.read_text(), str(p)) for p in sorted(APP.rglob("*.py"))}


def _type_checking_lines(tree: ast.Module) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for inner in node.body:
                for sub in ast.walk(inner):
                    if hasattr(sub, "lineno"):
                        lines.add(sub.lineno)
    return lines


def imports(name: str, tree: ast.Module, known: set[str]) -> Iterator[Import]:
    type_only = _type_checking_lines(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("app."):
                    yield Import(name, alias.name, node.lineno, node.lineno in type_only)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if not (node.module == "app" or node.module.startswith("app.")):
                continue
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                target = full if full in known else node.module
                yield Import(name, target, node.lineno, node.lineno in type_only)


def package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def root_of(module: str) -> str | None:
    return next((r for r in ROOTS if module == r or module.startswith(r + ".")), None)


def all_imports() -> list[Import]:
    found = modules()
    known = set(found)
    return [imp for name, tree in found.items() for imp in imports(name, tree, known)]


def root_violations(found: list[Import]) -> set[str]:
    bad = set()
    for imp in found:
        target_root, own_root = root_of(imp.target), root_of(imp.module)
        if target_root is None or target_root == own_root:
            continue
        if own_root is None or target_root not in ROOT_MAY_IMPORT[own_root]:
            bad.add(f"root: {imp.module} imports {imp.target}")
    return bad


def plumbing_violations(found: list[Import]) -> set[str]:
    bad = set()
    for imp in found:
        own, theirs = package(imp.module), package(imp.target)
        if own in PLUMBING and theirs not in PLUMBING:
            bad.add(f"plumbing: {imp.module} imports {imp.target}")
    return bad


def package_cycles(found: list[Import]) -> set[str]:
    graph: dict[str, set[str]] = {}
    for imp in found:
        own, theirs = package(imp.module), package(imp.target)
        if own != theirs and root_of(imp.module) is None:
            graph.setdefault(own, set()).add(theirs)
    bad = set()
    for group in _strongly_connected(graph):
        if len(group) > 1:
            bad.add("cycle: " + " <-> ".join(sorted(group)))
    return bad


def _strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = set()
            while True:
                top = stack.pop()
                on_stack.discard(top)
                group.add(top)
                if top == node:
                    break
            groups.append(group)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def tenant_models() -> dict[str, str]:
    """Class name -> its package, for every mapped class whose table has an ``org_id`` column."""
    found: dict[str, str] = {}
    base: type[DeclarativeBase] = Base
    for mapper in base.registry.mappers:
        table = mapper.local_table
        if "org_id" in getattr(table, "c", {}):
            found[mapper.class_.__name__] = package(mapper.class_.__module__)
    return found


def _names_in(node: ast.AST) -> Iterator[str]:
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name):
            yield sub.id


def _read_targets(tree: ast.Module) -> Iterator[ast.AST]:
    """The arguments of ``select(...)``, ``session.get(X, ...)``, ``.select_from(X)`` and
    ``.join(X...)``/``.outerjoin``."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id == "select":
            yield from node.args
        elif (
            isinstance(func, ast.Attribute)
            and func.attr in {"join", "outerjoin", "select_from"}
            and node.args
        ):
            yield node.args[0]
        elif isinstance(func, ast.Attribute) and func.attr == "get" and node.args:
            if ast.unparse(func.value).endswith("session"):
                yield node.args[0]


def tenant_read_violations(found: dict[str, ast.Module] | None = None) -> set[str]:
    tenants = tenant_models()
    bad = set()
    for name, tree in (modules() if found is None else found).items():
        own = package(name)
        if own in CROSS_TENANT:
            continue
        read = {n for target in _read_targets(tree) for n in _names_in(target) if n in tenants}
        for model in sorted(read):
            owner = tenants[model]
            if name != f"app.{owner}.queries":
                bad.add(f"reads: {name} reads {model} (of {owner})")
    return bad


def test_composition_roots_are_imported_only_by_roots() -> None:
    assert root_violations(all_imports()) == set()


def test_plumbing_imports_no_domain() -> None:
    assert plumbing_violations(all_imports()) == set()


def test_no_import_cycle_between_packages() -> None:
    assert package_cycles(all_imports()) == set()


def test_tenant_tables_are_read_only_in_their_own_queries_module() -> None:
    assert tenant_read_violations() == set()


def test_a_new_upward_import_is_caught() -> None:
    tree = ast.parse("from app.wabas.models import Waba\n\ndef f():\n    from app.cli import main\n")
    found = list(imports("app.lib.example", tree, {"app.wabas.models", "app.cli"}))
    assert plumbing_violations(found) == {
        "plumbing: app.lib.example imports app.wabas.models",
        "plumbing: app.lib.example imports app.cli",
    }
    assert root_violations(found) == {"root: app.lib.example imports app.cli"}


def test_a_cycle_hidden_in_a_function_is_caught() -> None:
    first = ast.parse("from app.events.models import Event\n")
    second = ast.parse("def f():\n    from app.alerts.models import AlertRule\n")
    known = {"app.events.models", "app.alerts.models"}
    found = [*imports("app.alerts.outbox", first, known), *imports("app.events.service", second, known)]
    assert package_cycles(found) == {"cycle: alerts <-> events"}


def test_a_tenant_read_outside_its_owners_queries_is_caught() -> None:
    service = ast.parse(
        "async def f(session, org_id):\n"
        "    await session.get(Waba, 1)\n"
        "    return await session.scalars(select(Event.id).join(PhoneNumber))\n"
    )
    owner = ast.parse("async def g(session):\n    return await session.scalars(select(Waba))\n")
    staff = ast.parse("async def h(session):\n    return await session.scalars(select(Waba))\n")
    found = {"app.alerts.service": service, "app.wabas.queries": owner, "app.staff.queries": staff}
    assert tenant_read_violations(found) == {
        "reads: app.alerts.service reads Waba (of wabas)",
        "reads: app.alerts.service reads Event (of events)",
        "reads: app.alerts.service reads PhoneNumber (of wabas)",
    }
