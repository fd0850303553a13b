"""Build the Go reference checker (tests/interop/go/verify) offline, once per session.

Shared by the interop tests and the end-to-end demo test. ``make deps`` installs the ``go``
binary and Debian's golang.org/x/mod sources; if either is missing the tests fail and say so,
because a skipped interop check would hide exactly what issue 2 asks us to prove.

Under pytest-xdist the workers of one run share one build (a fresh Go build cache compiles the
standard library: ~8 CPU-seconds, once per worker and file before): the first worker to ask builds
into the run's shared temporary directory under a file lock, the others wait and reuse it.
``make test`` runs two pytest sessions side by side (the solo demo test and the workers) and names
one directory for both in ``ECO_TEST_SHARED``, so the whole of ``make test`` builds once.
"""

from __future__ import annotations

import fcntl
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


def _run_shared(work: Path) -> Path:
    """Where this run's workers share the build: ``$ECO_TEST_SHARED/go-verify`` when set (one
    ``make test``), else beside the xdist workers' own temporary directories
    (``<basetemp>/popen-gwN/...``: the parent is one run's, private to the user), or ``work``
    itself outside xdist."""
    shared = os.environ.get("ECO_TEST_SHARED")
    if shared:
        return Path(shared) / "go-verify"
    for parent in work.parents:
        if parent.name.startswith("popen-gw"):
            return parent.parent / "go-verify-shared"
    return work


def build_go_verify(work: Path) -> Path:
    """The Go checker, built once per run (see the module docstring); ``work`` is the calling
    fixture's own temporary directory."""
    done = _BUILT.get("verify")
    if done is not None and done.exists():
        return done
    shared = _run_shared(work)
    shared.mkdir(parents=True, exist_ok=True)
    with open(shared / "build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        out = shared / "verify"
        if not out.exists():
            _build(shared, out)
    _BUILT["verify"] = out
    return out


def _build(work: Path, out: Path) -> None:
    go = shutil.which("go")
    if go is None:
        pytest.fail("the `go` binary is not installed: run 'make deps' (Debian golang-go)")
    gopath = gopath_with_xmod()
    if gopath is None:
        pytest.fail("golang.org/x/mod/sumdb/{note,tlog} sources not found in $GOPATH or "
                    "/usr/share/gocode (Debian package golang-golang-x-mod-dev)")
    env = {**os.environ, "GO111MODULE": "off", "GOPATH": gopath, "GOCACHE": str(work / "cache"),
           "GOFLAGS": "", "CGO_ENABLED": "0"}
    partial = out.with_name(out.name + ".partial")  # a waiting worker never sees half a file
    built = subprocess.run([go, "build", "-o", str(partial), "."], cwd=GO_SOURCE, env=env,
                           capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, f"go build failed:\n{built.stdout}\n{built.stderr}"
    partial.rename(out)
