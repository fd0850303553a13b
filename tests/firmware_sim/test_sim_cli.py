"""``eco-sim``: the announcement line, serving, clean exit on SIGTERM/SIGINT, argument errors."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from agent.meters.sunspec import SunSpecModbusMeter
from firmware_sim.cli import main


@contextmanager
def _eco_sim(*args: str) -> Iterator[subprocess.Popen[bytes]]:
    # unbuffered: select() on the pipe must see every line not yet read; a buffered reader
    # took all of ``inverters``' lines at once and select() then waited for a fourth
    proc = subprocess.Popen(
        [sys.executable, "-m", "firmware_sim.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        bufsize=0,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=5)
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()
        proc.stderr.close()


def _read_line(proc: subprocess.Popen[bytes], timeout: float = 5.0) -> dict[str, Any]:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    assert ready, "eco-sim printed nothing"
    line = proc.stdout.readline()
    assert line.endswith(b"\n")
    parsed: dict[str, Any] = json.loads(line)
    return parsed


@pytest.mark.integration
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_inverter_announces_serves_and_exits_cleanly(sig: signal.Signals) -> None:
    with _eco_sim(
        "inverter",
        "--rated-w",
        "4500",
        "--seed",
        "7",
        "--speed",
        "60",
        "--origin-sim",
        "2024-06-01T12:00+09:00",
        "--serial",
        "PV-0042",
        "--initial-wh",
        "123456",
    ) as proc:
        info = _read_line(proc)
        assert info["serial"] == "PV-0042" and info["rated_w"] == 4500
        assert os.path.realpath(info["port"]).startswith("/dev/pts/")
        meter = SunSpecModbusMeter("pv", info["port"], timeout_s=1.0)
        try:
            snap = meter.read()
        finally:
            meter.close()
        assert snap.identity.serial == "PV-0042"
        assert snap.register_wh >= 123456
        assert snap.power_w is not None and snap.power_w > 0  # noon in June
        proc.send_signal(sig)
        assert proc.wait(timeout=5) == 0


@pytest.mark.integration
@pytest.mark.parametrize(("models", "chain", "source"),
                         [("701", [1, 701], "TotWhInj/701"), ("103+701", [1, 103, 701], "WH/103")])
def test_inverter_serves_the_configured_models(models: str, chain: list[int], source: str) -> None:
    with _eco_sim("inverter", "--rated-w", "4500", "--models", models, "--initial-wh", "5000",
                 "--speed", "1", "--origin-sim", "2024-06-01T00:00+09:00") as proc:
        info = _read_line(proc)
        meter = SunSpecModbusMeter("pv", info["port"], timeout_s=1.0)
        try:
            snap = meter.read()
            assert meter.chain is not None
            assert [m.model_id for m in meter.chain.models] == chain
        finally:
            meter.close()
        assert snap.register_wh == 5000 and dict(snap.raw)["source"] == source
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0


@pytest.mark.integration
def test_inverters_prints_one_line_each() -> None:
    with _eco_sim("inverters", "--count", "3", "--seed", "5") as proc:
        lines = [_read_line(proc) for _ in range(3)]
        assert len({ln["port"] for ln in lines}) == 3
        assert len({ln["serial"] for ln in lines}) == 3
        assert all(3000 <= ln["rated_w"] <= 6000 for ln in lines)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["inverter", "--rated-w", "4500", "--origin-sim", "2024-06-01T12:00"], "UTC offset"),
        (["inverter", "--rated-w", "4500", "--origin-sim", "yesterday"], "ISO 8601"),
        (["inverter", "--rated-w", "4500", "--speed", "0"], "--speed"),
        (["inverter", "--rated-w", "-1"], "--rated-w"),
        (["inverter", "--rated-w", "4500", "--drop", "1.5"], "drop_fraction"),
        (["inverter", "--rated-w", "4500", "--serial", "X" * 40], "longer than 32 bytes"),
        (["inverters", "--count", "0"], "--count"),
        (["inverter", "--rated-w", "4500", "--jump-at", "2026-05-01T12:10+09:00"], "ISO,WH"),
        (["inverter", "--rated-w", "4500", "--jump-at", "2026-05-01T12:10,500"], "UTC offset"),
        (["inverter", "--rated-w", "4500", "--jump-at", "2026-05-01T12:10+09:00,0"],
         "positive Wh"),
    ],
)
def test_argument_errors(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err
