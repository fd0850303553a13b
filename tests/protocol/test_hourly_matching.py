"""The hourly matching computation (issue 19 point 5; eco_protocol/hourly_matching.py): the
consumption CSV as a utility gives it and each bad row refused naming its line and column;
per hour, only the account's own cancellations whose period covers the hour, never more than
the consumption; the hourly vs. volumetric shares; and the cancellations read from a real
signed export once `verify_certificate_proofs` accepted it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from eco_protocol.certificate_proofs import verify_certificate_proofs
from eco_protocol.hourly_matching import (
    Cancellation,
    ConsumptionError,
    ConsumptionHour,
    cancellations_of,
    match_hours,
    parse_consumption,
)
from eco_protocol.messages import render
from eco_protocol.programme_records import Period
from tests.protocol.matching_kit import HOUR0, HOUR1, certificate_export

H = timedelta(hours=1)
T0 = datetime(2026, 5, 1, 0, tzinfo=UTC)
ME = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
THEM = "did:key:z6MkjchhfUsD6mmvni8mCdXHw216Xrm9bQe2mBH1P5RDjVJG"


def _cancel(hour: datetime, wh: int, account: str = ME, start: datetime = T0 - 24 * H,
            end: datetime = T0 + 48 * H, ref: str = "gc") -> Cancellation:
    return Cancellation(ref, hour, account, start, end, wh)


def test_a_utility_download_is_read_in_whole_wh_per_utc_hour() -> None:
    text = ("\ufeff# exported 2026-05-02\n"
            "日時,使用電力量(kWh)\n"
            "2026-05-01T09:00:00+09:00,1.2\n"
            "\n"
            "2026-05-01T09:30:00+09:00,0.35\n"
            "2026-05-01 10:00+09:00,0.8\n")
    assert parse_consumption(text) == (ConsumptionHour(T0, 1550),
                                       ConsumptionHour(T0 + H, 800))
    assert parse_consumption("start,energy Wh\n2026-05-01T00:00:00Z,1234\n") == \
        (ConsumptionHour(T0, 1234),)


@pytest.mark.parametrize(("text", "code", "where"), [
    ("hour,kwh\n2026-05-01T09:00:00,1\n", "no_offset", "line 2, column 1 (hour)"),
    ("hour,kwh\n2026-05-01T09:00+09:00,1\nyesterday,1\n", "time", "line 3, column 1 (hour)"),
    ("hour,kwh\n2026-05-01T09:15:00+09:00,1\n", "not_interval", "line 2, column 1"),
    ("hour,kwh\n2026-05-01T09:00+09:00,abc\n", "number", "line 2, column 2 (kwh)"),
    ("hour,kwh\n2026-05-01T09:00+09:00,-0.1\n", "number", "line 2, column 2 (kwh)"),
    ("hour,kwh\n2026-05-01T09:00+09:00,NaN\n", "number", "line 2, column 2 (kwh)"),
    ("hour,kwh\n2026-05-01T09:00+09:00,0.0005\n", "fraction", "line 2, column 2 (kwh)"),
    ("hour,x,kwh\n2026-05-01T09:00+09:00,1\n", "missing", "line 2: column 3 (kwh)"),
    ("hour,kwh\n2026-05-01T09:00+09:00,1\n2026-05-01T00:00Z,2\n", "twice",
     "line 3, column 1 (hour)"),
    ("hour,amount\n2026-05-01T09:00+09:00,1\n", "header", "line 1"),
    ("# only a comment\n", "empty_header", "consumption CSV"),
    ("hour,kwh\n", "no_rows", "consumption CSV"),
])
def test_a_bad_row_is_refused_naming_its_line_and_column(text: str, code: str,
                                                         where: str) -> None:
    with pytest.raises(ConsumptionError) as e:
        parse_consumption(text)
    assert e.value.message_code == f"eco_protocol.matching.csv.{code}"
    assert where in str(e.value)
    assert "行目" in render(e.value, "ja") or code in ("empty_header", "no_rows")


def test_hours_without_certificates_and_a_capped_hour() -> None:
    use = (ConsumptionHour(T0, 500), ConsumptionHour(T0 + H, 400), ConsumptionHour(T0 + 2 * H, 0))
    r = match_hours(use, [_cancel(T0 + H, 300), _cancel(T0 + H, 250, ref="gc-b"),
                          _cancel(T0 + 2 * H, 100)], ME)
    assert [(h.consumption_wh, h.certificates_wh, h.matched_wh) for h in r.hours] == \
        [(500, 0, 0), (400, 550, 400), (0, 100, 0)]
    assert [h.share for h in r.hours] == [0.0, 1.0, 0.0]
    assert (r.consumption_wh, r.certificates_wh, r.matched_wh) == (900, 650, 400)
    assert r.hourly_share == pytest.approx(400 / 900)
    assert r.volumetric_share == pytest.approx(650 / 900)  # the same Wh, hour ignored
    assert r.not_counted == ()


def test_only_the_accounts_own_cancellations_for_a_period_covering_the_hour_count() -> None:
    use = (ConsumptionHour(T0, 1000),)
    mine = _cancel(T0, 200)
    other = _cancel(T0, 700, account=THEM)
    elsewhere = _cancel(T0, 300, start=T0 + H, end=T0 + 5 * H)  # a period after the hour
    no_hour = _cancel(T0 + 3 * H, 50)  # an hour the CSV does not hold
    r = match_hours(use, [mine, other, elsewhere, no_hour], ME)
    assert r.matched_wh == 200 and r.counted == (mine,)
    assert r.not_counted == ((elsewhere, "period"), (no_hour, "no_consumption"))
    assert match_hours(use, [mine, other], THEM).matched_wh == 700


def test_the_cancellations_of_a_verified_export(tmp_path: Path) -> None:
    ex = certificate_export(tmp_path / "export")
    bundles = json.loads((ex.dir / "bundles.json").read_text())
    proofs = json.loads((ex.dir / "proofs.json").read_text())
    check = verify_certificate_proofs(bundles, proofs, ex.log_vkey)
    found = cancellations_of(check.bundles)
    assert [(c.issuance_id, c.hour, c.account, c.wh) for c in found] == [
        ("gc-1", HOUR0, ex.buyer, 600), ("gc-2", HOUR1, ex.buyer, 400),
        ("gc-2", HOUR1, ex.other, 600)]
    assert found[0].beneficiary == "Example Steel Co."
    use = (ConsumptionHour(HOUR0, 450), ConsumptionHour(HOUR1, 1000))
    r = match_hours(use, found, ex.buyer)
    assert [h.matched_wh for h in r.hours] == [450, 400]  # hour 0 capped; the other's 600 not
    # a bundle not in the checked file gives no cancellation
    assert cancellations_of(check.bundles[:1])[0].issuance_id == "gc-1"
    assert len(cancellations_of(check.bundles[:1])) == 1


def test_a_cancellation_for_another_period_is_not_counted(tmp_path: Path) -> None:
    later = Period("2027-01-01T00:00:00Z", "2027-02-01T00:00:00Z")
    ex = certificate_export(tmp_path / "export", period=later)
    proofs = json.loads((ex.dir / "proofs.json").read_text())
    check = verify_certificate_proofs(json.loads((ex.dir / "bundles.json").read_text()),
                                      proofs, ex.log_vkey)
    r = match_hours((ConsumptionHour(HOUR0, 1000),), cancellations_of(check.bundles),
                    ex.buyer)
    assert r.matched_wh == 0
    assert [(c.issuance_id, why) for c, why in r.not_counted] == [
        ("gc-1", "period"), ("gc-2", "no_consumption")]  # hour 1 is not in this CSV
