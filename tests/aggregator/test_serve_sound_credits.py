"""A hostile enrolled device against the real ``serve`` behind a real Mosquitto broker: the
same half hour claimed five times at rated power, one reading spanning 300 days, an implausible
interval then valid ones. Every reading is logged, none stalls the chain, an honest neighbour is
unaffected, and the attacker earns at most what one honest interval could."""

from __future__ import annotations

import signal
from datetime import timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from aggregator.config import load_config
from aggregator.ledger import Ledger
from aggregator.logkeys import load_log_signer
from aggregator.mosquitto import Mosquitto
from aggregator.registry import build_enrolment, enrol
from aggregator.store import SqliteStore
from eco_protocol.encoding import format_time
from eco_protocol.keys import public_key_raw
from eco_protocol.note import NoteSigner
from eco_protocol.records import MeterSpec, Quantity, Receipt
from tests.aggregator.ledger_kit import PV_FIT, T0, Device
from tests.aggregator.serve_kit import DeviceClient, isolate, run_cli, start_serve, wait_subscribed

pytestmark = pytest.mark.integration
RATED_W = 4500
FULL = RATED_W // 2  # Wh in half an hour at rated power


def _at(k: int) -> str:
    return format_time(T0 + timedelta(minutes=30 * k))


def _pair(d: Device, start: str, end: str, pv: int, **kw: Any) -> list[dict[str, Any]]:
    """A PV reading and its export reading (0 Wh) over the same span."""
    t = {"start": start, "end": end, **kw}
    return [d.reading(energy=pv, meter="pv1", **t),
            d.reading(energy=0, meter="exp1", quantity="grid_export", **t)]


def test_hostile_device_earns_at_most_one_interval_and_nothing_stalls(
        tmp_path: Path, broker: Mosquitto, capsys: pytest.CaptureFixture[str]) -> None:
    state = tmp_path / "agg"
    init = run_cli(capsys, "--config", str(state / "aggregator.toml"), "init", str(state),
                   "--origin", "eco-ledger.hostile.test", "--broker", broker.url)
    conf = init["config"]
    isolate(conf, "hostile")
    run_cli(capsys, "--config", conf, "programme", "init", "--id", "prog-1")
    # both homes joined at T0 (enrolled through the same registry code the CLI uses, dated so)
    cfg = load_config(Path(conf))
    signer: NoteSigner = load_log_signer(cfg, None)
    ledger = Ledger(SqliteStore(state / "ledger.sqlite3"), signer)
    meters = [MeterSpec("pv1", Quantity.PV_GENERATION, "sunspec-modbus", RATED_W),
              MeterSpec("exp1", Quantity.GRID_EXPORT, "echonet-broute", RATED_W)]
    bad, good = Device(), Device()
    for d, hh in ((bad, "hh-bad"), (good, "hh-good")):
        enrol(ledger, build_enrolment(public_key_raw(d.key), hh, "prog-1", meters,
                                      dict(PV_FIT), format_time(T0)))
    ledger.store.close()

    proc = start_serve(conf)
    attacker, honest = DeviceClient(bad, broker.port), DeviceClient(good, broker.port)
    items: list[Any] = []
    honest_items: list[Any] = []

    def send(client: DeviceClient, readings: list[dict[str, Any]]) -> list[Any]:
        return list(Receipt.from_dict(client.send_until_receipt(readings)).items)

    try:
        wait_subscribed(proc)
        for _ in range(5):  # the same half hour, five times, at rated power
            items += send(attacker, _pair(bad, _at(0), _at(1), FULL))
        long_start = format_time(T0 + timedelta(minutes=30) - timedelta(days=300))
        items += send(attacker, _pair(bad, long_start, _at(1), RATED_W * 24 * 300,
                                     flags=["gap_filled"]))
        items += send(attacker, _pair(bad, _at(1), _at(2), 2 * FULL))  # twice rated power
        for k in range(2, 5):  # then honest intervals: the chain keeps flowing
            items += send(attacker, _pair(bad, _at(k), _at(k + 1), 500))
        for k in range(0, 5):
            honest_items += send(honest, _pair(good, _at(k), _at(k + 1), 600))
    finally:
        attacker.close()
        honest.close()
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=20)
    assert [i.status.value for i in items] == ["accepted"] * 20
    creditable = [i.creditable for i in items]
    assert creditable == [True, True] + [False] * 8 + [False] * 2 + [False, True] + [True] * 6
    reasons = [i.reason.split(":")[0] for i in items if i.reason]
    assert reasons == ["overlap"] * 8 + ["over_long"] * 2 + ["implausible"]
    assert all(i.status.value == "accepted" and i.creditable for i in honest_items)

    points = run_cli(capsys, "--config", conf, "points")
    by_hh = {h["household"]: h for h in points["households"]}
    # pseudonyms: the households were enrolled under these names directly
    share = 1 - Fraction(6000, 1_000_000)
    one_interval = Fraction(FULL * 434, 1000) * share
    honest_after = Fraction(3 * 500 * 434, 1000) * share
    assert by_hh["hh-bad"]["reduction_g"] <= int(one_interval + honest_after)
    assert by_hh["hh-bad"]["reduction_g"] == int(one_interval + honest_after)
    assert by_hh["hh-good"]["reduction_g"] == int(Fraction(5 * 600 * 434, 1000) * share)
    verified = run_cli(capsys, "--config", conf, "ledger", "verify")
    assert verified["ok"] is True
    assert verified["not_creditable"] == {"implausible": 1, "over_long": 2, "overlap": 8}
