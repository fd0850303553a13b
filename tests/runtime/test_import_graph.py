"""The project's import graph (issue 15): no circle among its modules, subpackages included; the
agent and the aggregator never import each other; the contract imports neither; no module takes
another's private name. Every import counts — at module level, inside a function, under
``TYPE_CHECKING`` — because a lazy import is still a dependency (the CLI's modules once reached
each other through function-level imports)."""

from __future__ import annotations

import ast
import functools
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("eco_protocol", "eco_runtime", "agent", "aggregator", "firmware_sim")


def _name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}


def _targets(module: str, path: Path, node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    base = node.module or ""
    if node.level:
        parts = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
        parts = parts[:len(parts) - node.level + 1]
        base = ".".join([*parts, *([node.module] if node.module else [])])
    # "from . import x" imports the module x; "from .m import f" the module m
    return [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]


@functools.cache
def _tree(path: Path) -> ast.Module:
    """A module's syntax tree, parsed once for the tests of this file (~250 modules each)."""
    return ast.parse(path.read_text(encoding="utf-8"))


@functools.cache
def _graph_once() -> dict[str, frozenset[str]]:
    graph: dict[str, frozenset[str]] = {}
    for module, path in MODULES.items():
        deps: set[str] = set()
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.Import | ast.ImportFrom):
                deps.update(_targets(module, path, node))
        graph[module] = frozenset(deps)
    return graph


def _graph() -> dict[str, set[str]]:
    """Module -> the modules and names it imports (a fresh copy: callers may change it)."""
    return {m: set(deps) for m, deps in _graph_once().items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        path.append(m)
        for n in sorted(graph[m] & MODULES.keys() - {m}):
            if state.get(n) == 1:
                return [*path[path.index(n):], n]
            if n not in state and (found := visit(n)) is not None:
                return found
        path.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state and (found := visit(m)) is not None:
            return found
    return None


def test_the_graph_sees_the_packages_modules() -> None:
    graph = _graph()
    assert {"aggregator.cli", "aggregator.cli.common", "aggregator.store.sqlite"} <= graph.keys()
    assert "aggregator.cli.common" in graph["aggregator.cli.devices"]
    assert "aggregator.operator" in graph["aggregator.cli.devices"]  # "from .. import operator"


def test_no_import_circle_in_the_project() -> None:
    cycle = _cycle(_graph())
    assert cycle is None, " -> ".join(cycle or [])


def _imports_of(package: str, forbidden: tuple[str, ...]) -> dict[str, list[str]]:
    offenders = {m: sorted(d for d in deps if d.split(".")[0] in forbidden)
                 for m, deps in _graph().items() if m.split(".")[0] == package}
    return {m: d for m, d in offenders.items() if d}


def test_the_agent_and_the_aggregator_never_import_each_other() -> None:
    assert _imports_of("aggregator", ("agent",)) == {}
    assert _imports_of("agent", ("aggregator", "firmware_sim")) == {}


def test_the_contract_and_the_runtime_import_no_service() -> None:
    services = ("agent", "aggregator", "firmware_sim")
    assert _imports_of("eco_protocol", (*services, "eco_runtime")) == {}
    assert _imports_of("eco_runtime", services) == {}


def test_no_module_takes_another_modules_private_name() -> None:
    found = []
    for module, path in MODULES.items():
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.ImportFrom) and (node.level or
                                                      node.module in MODULES):
                found += [f"{module}: {a.name}" for a in node.names
                          if a.name.startswith("_") and not a.name.startswith("__")]
    assert found == []
