"""The buyer installs only the protocol package: it must import nothing but the standard
library, ``cryptography`` and ``rfc8785`` (docs/architecture.md), so that
``pip install --no-deps eco-credit cryptography rfc8785`` gives a working ``eco-verify``."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).parents[2] / "eco_protocol"
ALLOWED = {"cryptography", "rfc8785", "eco_protocol"}


def test_protocol_package_imports_only_stdlib_cryptography_and_rfc8785() -> None:
    stdlib = set(sys.stdlib_module_names)
    found: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top not in stdlib and top not in ALLOWED:
                    found.setdefault(path.name, set()).add(top)
    assert found == {}, f"eco_protocol must stay installable alone: {found}"


def test_eco_verify_runs_with_agent_and_aggregator_unimportable(tmp_path: Path) -> None:
    """Run eco-verify with the agent, aggregator and their dependencies hidden."""
    blocker = tmp_path / "sitecustomize.py"
    blocker.write_text(
        "import sys\n"
        "class _Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in {'agent', 'aggregator', 'firmware_sim', 'paho',\n"
        "                                   'serial', 'tinydb', 'apscheduler', 'pymodbus',\n"
        "                                   'psycopg', 'starlette'}:\n"
        "            raise ImportError(f'{name} is not installed for a buyer')\n"
        "sys.meta_path.insert(0, _Block())\n")
    r = subprocess.run([sys.executable, "-c",
                        "import sys; from eco_protocol.verify_cli import main; "
                        "sys.exit(main(['--help']))"],
                       capture_output=True, text=True, timeout=60,
                       env={"PYTHONPATH": f"{tmp_path}:{PACKAGE.parent}", "PATH": "/usr/bin"})
    assert r.returncode == 0, r.stderr
    assert "report" in r.stdout and "evidence" in r.stdout


def test_the_eco_verify_wheel_holds_only_the_protocol_and_verifies_evidence(
        tmp_path: Path) -> None:
    """packaging/eco-verify builds a wheel of eco_protocol alone; installed into a fresh venv
    beside nothing but cryptography and rfc8785, its eco-verify checks an evidence dir."""
    import sysconfig
    import zipfile

    from tests.protocol.records_kit import make_evidence_dir

    root = PACKAGE.parent
    wheels = tmp_path / "wheels"
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                        "--no-build-isolation", str(root / "packaging" / "eco-verify"),
                        "-w", str(wheels)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    (wheel,) = wheels.glob("eco_verify-*.whl")
    tops = {n.split("/")[0] for n in zipfile.ZipFile(wheel).namelist()}
    assert tops == {"eco_protocol", wheel.name.split("-py")[0] + ".dist-info"}
    venv = tmp_path / "buyer"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   timeout=120)
    subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"),
                    "install", "-q", "--no-deps", "--no-index", str(wheel)], check=True,
                   timeout=300)
    # the two dependencies (and cryptography's cffi), nothing else from our environment
    deps = tmp_path / "deps"
    deps.mkdir()
    site = Path(sysconfig.get_paths()["purelib"])
    for name in ("cryptography", "rfc8785", "cffi", "pycparser"):
        (deps / name).symlink_to(site / name)
    for so in site.glob("_cffi_backend*.so"):
        (deps / so.name).symlink_to(so)
    (next((venv / "lib").glob("python3*/site-packages")) / "deps.pth").write_text(f"{deps}\n")
    ev = make_evidence_dir(tmp_path / "evidence")
    ok = subprocess.run([str(venv / "bin" / "eco-verify"), "evidence", str(ev.path),
                         "--log-key", ev.log_vkey], capture_output=True, text=True,
                        timeout=120, cwd=tmp_path, env={"PATH": "/usr/bin:/bin"})
    assert ok.returncode == 0, ok.stderr
    assert "root hash recomputed" in ok.stdout
