"""``eco-verify basket`` (issue 18 point 5) on real batch reports of two towns: each town's log
with PV homes whose enrolments carry claim tokens, readings through the intake, a sealed batch,
the verification body's cosignature, and the report with its evidence. Two honest towns make a
VALID basket; an inverter enrolled in both towns (a race the look-up missed) credited in both
batches of one period, or one report given twice, make it INVALID."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.aggregator.consortium_kit import (
    basket,
    consortium_file,
    town_report,
)


def test_two_honest_towns_make_a_valid_basket(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    a = town_report(tmp_path, "town-a", ["1001", "1002"])
    b = town_report(tmp_path, "town-b", ["2001"])
    rc, out, err = basket(capsys, consortium_file(tmp_path, "town-a", "town-b"), a, b)
    assert rc == 0, err
    assert "VALID basket: 2 batches from 2 members (town-a, town-b)" in out
    summary = json.loads(out.splitlines()[-1])
    assert summary["ok"] and summary["problems"] == []
    assert [b["claim_tokens"] for b in summary["batches"]] == [2, 1]
    assert all("published under the consortium's policy" in b["published"]
               for b in summary["batches"])


def test_an_inverter_credited_in_two_towns_or_a_report_given_twice_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = town_report(tmp_path, "town-a", ["1001", "1002"])
    b = town_report(tmp_path, "town-b", ["2001", "01002"])  # 01002 is 1002: the same inverter
    conf = consortium_file(tmp_path, "town-a", "town-b")
    rc, out, err = basket(capsys, conf, a, b)
    assert rc == 1
    assert "the same inverter" in err and "town-a's batch" in err and "town-b's batch" in err
    assert "INVALID basket: 1 problems" in err
    rc, out, err = basket(capsys, conf, a, a, evidence=False)
    assert rc == 1 and "is in the basket twice" in err


def test_a_report_outside_the_consortium_fails_the_basket(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = town_report(tmp_path, "town-a", ["1001"])
    c = town_report(tmp_path, "town-c", ["3001"])
    rc, out, err = basket(capsys, consortium_file(tmp_path, "town-a", "town-b"), a, c,
                          evidence=False)
    assert rc == 1 and "is not a member of consortium" in err


def test_one_inverter_credited_through_two_households_of_one_batch_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = town_report(tmp_path, "town-a", ["1001", "001-001"])  # the same inverter, twice
    rc, out, err = basket(capsys, consortium_file(tmp_path, "town-a"), a, evidence=False)
    assert rc == 1
    assert "is credited twice by town-a's batch" in err and "INVALID basket: 1 problems" in err
