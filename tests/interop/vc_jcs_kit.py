"""Install and run the independent eddsa-jcs-2022 implementation (tests/interop/vc_jcs/).

Digital Bazaar's ``@digitalbazaar/eddsa-jcs-2022-cryptosuite`` with its Data Integrity proof and
``jsonld-signatures``, pinned by ``package.json`` and ``package-lock.json``, is installed with
``npm ci`` from the npm registry into ``tests/interop/vc_jcs/node_modules`` (git-ignored) once,
and again only when the lock file changes (a stamp in ``node_modules`` holds its SHA-256). Like
the Go checker (tests/gotool.py), a missing ``node``/``npm`` fails the test and says so: a
skipped interop check would hide exactly what issue 20 asks us to prove.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent / "vc_jcs"
SCRIPT = HERE / "interop.mjs"
STAMP = HERE / "node_modules" / ".eco-lock-sha256"


def install() -> str:
    """The ``node`` binary, after making sure the pinned packages are installed."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.fail("node and npm are needed for the eddsa-jcs-2022 interop test (Debian "
                    "package nodejs; npm from Debian's npm package where nodejs lacks it)")
    want = hashlib.sha256((HERE / "package-lock.json").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text("utf-8").strip() == want:
        return node
    done = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"], cwd=HERE,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"npm ci failed in {HERE}:\n{done.stdout}\n{done.stderr}"
    STAMP.write_text(want + "\n", "utf-8")
    return node


def call(node: str, request: Mapping[str, Any]) -> dict[str, Any]:
    """One request to interop.mjs (``op`` verify or sign); its JSON answer."""
    done = subprocess.run([node, str(SCRIPT)], input=json.dumps(request), capture_output=True,
                          text=True, timeout=120, cwd=HERE)
    assert done.returncode == 0, f"interop.mjs failed:\n{done.stderr}"
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer
