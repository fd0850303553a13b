"""Build the Go reference checker (tests/interop/go/verify) offline, once per session.

Shared by the interop tests and the end-to-end demo test. ``make deps`` installs the ``go``
binary and Debian's golang.org/x/mod sources; if either is missing the tests fail and say so,
because a skipped interop check would hide exactly what issue 2 asks us to prove.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

GO_SOURCE = Path(__file__).parents[1] / "interop" / "go" / "verify"
XMOD_PACKAGES = ("golang.org/x/mod/sumdb/note", "golang.org/x/mod/sumdb/tlog")


def gopath_with_xmod() -> str | None:
    candidates = [p for p in os.environ.get("GOPATH", "").split(os.pathsep) if p]
    candidates.append("/usr/share/gocode")  # Debian: golang-golang-x-mod-dev
    for root in candidates:
        if all((Path(root) / "src" / pkg).is_dir() for pkg in XMOD_PACKAGES):
            return root
    return None


_BUILT: dict[str, Path] = {}  # one build per test session, whichever fixture asks first


def build_go_verify(work: Path) -> Path:
    done = _BUILT.get("verify")
    if done is not None and done.exists():
        return done
    go = shutil.which("go")
    if go is None:
        pytest.fail("the `go` binary is not installed: run 'make deps' (Debian golang-go)")
    gopath = gopath_with_xmod()
    if gopath is None:
        pytest.fail("golang.org/x/mod/sumdb/{note,tlog} sources not found in $GOPATH or "
                    "/usr/share/gocode (Debian package golang-golang-x-mod-dev)")
    out = work / "verify"
    env = {**os.environ, "GO111MODULE": "off", "GOPATH": gopath, "GOCACHE": str(work / "cache"),
           "GOFLAGS": "", "CGO_ENABLED": "0"}
    built = subprocess.run([go, "build", "-o", str(out), "."], cwd=GO_SOURCE, env=env,
                           capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, f"go build failed:\n{built.stdout}\n{built.stderr}"
    _BUILT["verify"] = out
    return out
