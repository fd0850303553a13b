"""Small units (issue 15): no module over 600 lines and no function over 80 outside the tests,
unless the module says near its top why it must be longer ("Over the 600-line rule …"), as a
catalogue of translated messages does, one key per line."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("eco_protocol", "eco_runtime", "agent", "aggregator", "firmware_sim", "bench")
MODULE_LINES, FUNCTION_LINES = 600, 80
WHY = "Over the 600-line rule"


def _sources() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


def test_no_module_over_600_lines_unless_it_says_why() -> None:
    long = []
    for path in _sources():
        lines = path.read_text("utf-8").splitlines()
        if len(lines) > MODULE_LINES and not any(WHY in line for line in lines[:40]):
            long.append(f"{path.relative_to(ROOT)}: {len(lines)} lines")
    assert long == [], "split these modules by concept, or say near the top why they are long"


def test_no_function_over_80_lines() -> None:
    long = []
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                size = (node.end_lineno or node.lineno) - node.lineno + 1
                if size > FUNCTION_LINES:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}: {size}")
    assert long == [], "name the steps of these functions as functions of their own"
