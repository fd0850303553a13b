"""The protocol package's import graph: no circle, no private helper shared across modules.

A circle among the record modules is how the record layer rotted before (records, programme
records and log keys importing each other's private helpers); these checks keep it from coming
back. The graph counts every relative import, at module level or inside a function (a lazy import
is still a dependency).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "eco_protocol"
MODULES = sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__")


def _imports(module: str) -> list[tuple[str, list[str]]]:
    """(imported module, names) for each import of a sibling, at any depth."""
    tree = ast.parse((PACKAGE / f"{module}.py").read_text(encoding="utf-8"))
    out: list[tuple[str, list[str]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module is None:  # from . import x
                for alias in node.names:
                    out.append((alias.name, []))
            else:
                out.append((node.module.split(".")[0], [a.name for a in node.names]))
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and \
                node.module.startswith("eco_protocol."):
            out.append((node.module.split(".")[1], [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            out.extend((a.name.split(".")[1], []) for a in node.names
                       if a.name.startswith("eco_protocol."))
    return out


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for m in MODULES:
        for target, _ in _imports(m):
            if target in graph and target != m:
                graph[m].add(target)
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                return [*stack[stack.index(n):], n]
            if n not in state and (found := visit(n)):
                return found
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state and (found := visit(m)):
            return found
    return None


def test_the_protocol_modules_import_each_other_without_a_circle() -> None:
    graph = _graph()
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])
    # the layering the record types rely on
    assert graph["fields"] <= {"canonical", "encoding", "errors"}
    for record_module in ("records", "programme_records", "logkey"):
        assert "dispatch" not in graph[record_module]
    assert {"records", "programme_records", "logkey"} <= graph["dispatch"]
    assert not {"programme_records", "logkey"} & graph["records"]
    # the rule a seal's totals follow lives with the seal; methodology imports it from there
    assert "methodology" not in graph["programme_records"]


def test_the_cycle_finder_finds_a_circle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_no_module_imports_another_modules_private_names() -> None:
    offenders = [f"{m} imports {name} from {target}"
                 for m in MODULES for target, names in _imports(m)
                 for name in names if name.startswith("_")]
    assert offenders == []


@pytest.mark.parametrize("module", MODULES)
def test_each_module_imports_alone_in_a_fresh_interpreter(module: str) -> None:
    code = (f"import sys, eco_protocol.{module}\n"
            # a record module never loads the dispatcher
            "assert (sys.argv[1] != 'records') or 'eco_protocol.dispatch' not in sys.modules\n")
    done = subprocess.run([sys.executable, "-c", code, module], capture_output=True, text=True,
                          cwd=PACKAGE.parent, timeout=60, check=False)
    assert done.returncode == 0, done.stderr


def test_the_dispatcher_knows_every_signed_record_class() -> None:
    from eco_protocol import dispatch
    from eco_protocol.fields import Signed

    def leaves(cls: type) -> set[type]:
        subs: list[type] = cls.__subclasses__()
        return {cls} if not subs else set().union(*(leaves(s) for s in subs))

    # only the classes the modules name: slots=True leaves the class it replaced behind
    concrete = {c for c in leaves(Signed) if c.__module__.startswith("eco_protocol.")
                and getattr(sys.modules[c.__module__], c.__name__, None) is c}
    assert {c.TYPE for c in concrete} == set(dispatch.PARSERS)
    for c in concrete:
        assert dispatch.PARSERS[c.TYPE] == c.from_dict
