"""``--serve`` (``make demo SERVE=1``): the operator web UI on the demo's data until Ctrl-C."""

from __future__ import annotations

import json
import secrets
import subprocess
from pathlib import Path

from firmware_sim.procs import terminate_groups

from .children import bin_path, run_json
from .town import TOWN


def serve_dashboard(out: Path) -> int:
    """``--serve`` (``make demo SERVE=1``): an operator account with a random password, a login
    code for the first household, and ``eco-aggregator ui`` on a free loopback port."""
    agg = [bin_path("eco-aggregator"), "--config", str(out / "aggregator" / "aggregator.toml")]
    password = secrets.token_urlsafe(12)
    r = subprocess.run([*agg, "ui-user", "add", "demo"], input=password + "\n", text=True,
                       capture_output=True, check=False)
    if r.returncode != 0:
        raise SystemExit(f"demo: cannot create the web UI account: {r.stderr.strip()}")
    code = run_json([*agg, "resident-code", TOWN[0].name])["code"]
    ui = subprocess.Popen([*agg, "ui", "--listen", "127.0.0.1:0", "--online-clock", "data"],
                          stdout=subprocess.PIPE,
                          stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        assert ui.stdout is not None
        line = ui.stdout.readline()
        if not line:
            raise SystemExit("demo: the web UI did not start; run eco-aggregator ui by hand")
        url = json.loads(line)["url"]
        print(f"demo: dashboard   {url}/   (Ctrl-C to stop)")
        print(f"demo: operator    user demo, password {password}")
        print(f"demo: resident    {url}/resident/login with code {code} ({TOWN[0].name})")
        ui.wait()
    except KeyboardInterrupt:
        print()
    finally:
        terminate_groups([ui], timeout=10)
    return 0


__all__ = ["serve_dashboard"]
