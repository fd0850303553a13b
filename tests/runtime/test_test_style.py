"""One naming style for the test suite's own helpers (issue 15).

- A module that tests import for help is a *kit*: ``<concept>_kit.py`` beside the tests that use
  it, or in ``tests/support/`` when several directories do; it is imported by its full dotted
  path (``from tests.webui.walk_kit import Walker``), so it is one module object however a test
  reaches it. The programs a test runs in a process of its own are named for what they are
  (``PROGRAMS``).
- A test module never imports from another test module or from a ``conftest.py``: what two test
  modules share moves to a kit, a fixture two modules of one directory share to its conftest.
- Inside a test module, everything at the top level that is not a test, a fixture, a pytest hook
  or a ``Test*`` class is private (``_name``), so a reader sees at once what pytest collects and
  what only that module uses.
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
PROGRAMS = {"e2e/cleanroom.py", "agent/outbox_crash_child.py"}


def _modules() -> list[Path]:
    return sorted(p for p in TESTS.rglob("*.py") if "node_modules" not in p.parts)


def _is_fixture(decorator: ast.expr) -> bool:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return ast.unparse(target) in ("pytest.fixture", "fixture")


def test_helper_modules_are_kits_or_named_programs() -> None:
    odd = [str(p.relative_to(TESTS)) for p in _modules()
           if not p.name.startswith("test_") and p.name not in ("conftest.py", "__init__.py")
           and not p.name.endswith("_kit.py") and str(p.relative_to(TESTS)) not in PROGRAMS]
    assert odd == [], f"name a helper module <concept>_kit.py (or list a program): {odd}"


def test_tests_import_helpers_only_from_kits_by_their_full_path() -> None:
    kits = {p.stem for p in _modules() if p.name.endswith("_kit.py")}
    wrong: list[str] = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not isinstance(node, ast.ImportFrom):
                continue
            where = f"{path.relative_to(TESTS)}:{node.lineno}"
            module = node.module or ""
            last = module.rsplit(".", 1)[-1]
            if node.level:
                wrong.append(f"{where}: relative import from {'.' * node.level}{module}")
            elif last.startswith("test_") or last == "conftest":
                wrong.append(f"{where}: imports from {module} (move what is shared to a kit)")
            elif module in kits:
                wrong.append(f"{where}: bare 'from {module}': use its full path tests.…")
    assert wrong == []


def test_test_modules_keep_their_helpers_private() -> None:
    public: list[str] = []
    for path in _modules():
        if not path.name.startswith("test_"):
            continue
        for node in ast.parse(path.read_text("utf-8")).body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                if (node.name.startswith(("test_", "_", "pytest_"))
                        or any(_is_fixture(d) for d in node.decorator_list)):
                    continue
            elif isinstance(node, ast.ClassDef):
                if node.name.startswith(("Test", "_")):
                    continue
            else:
                continue
            public.append(f"{path.relative_to(TESTS)}:{node.lineno} {node.name}")
    assert public == [], "prefix helpers of a test module with _ (or move them to a kit)"
