"""The shop's verdict (aggregator/webui/statement_check.py) and its copy of the town's keys
(aggregator/webui/town_cache.py), on credentials the town really issues from a real ledger
(aggregator/credentials.py) and, for the copy, its real read API."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from aggregator import credentials as ac
from aggregator.did_web import Issuer, document, issuer_of
from aggregator.programme import load_programme
from aggregator.webui.credential_routes import statement_qr
from aggregator.webui.i18n import translator
from aggregator.webui.statement_check import Outcome, check_statement
from aggregator.webui.town_cache import TownCache
from eco_protocol.encoding import format_time
from tests.webui.webui_kit import UiWorld, make_world, read_api

SATO, SUZUKI = "Sato, 1-2 Chuo", "Suzuki, 3-4 Minami"


@dataclass
class _Issued:
    world: UiWorld
    issuer: Issuer
    statement: dict[str, Any]
    enrolment: dict[str, Any]
    other_enrolment: dict[str, Any]
    did_documents: dict[str, dict[str, Any]]
    status_lists: dict[str, dict[str, Any]]
    now: str  # the shop's clock: a minute after the issue (not at collection, minutes before)


@pytest.fixture(scope="module")
def issued(tmp_path_factory: pytest.TempPathFactory) -> _Issued:
    world = make_world(tmp_path_factory.mktemp("check"))
    for ref in (SATO, SUZUKI):
        world.enrol_pv(ref)
        world.send(ref, 24)
    issuer = issuer_of(world.cfg)
    programme = load_programme(world.state / "programme.toml")
    with world.ledger() as ledger:
        statement = ac.points_credential(issuer, ledger, programme, world.pseudonym(SATO))
        enrolment, other = (ac.enrolment_credential(issuer, ledger,
                                                    world.devices[r].device_id)
                            for r in (SATO, SUZUKI))
        doc = dict(document(issuer, ledger.store))
        listed = ac.status_list(issuer, ledger)
    return _Issued(world, issuer, statement, enrolment, other, {issuer.did: doc},
                  {issuer.status_list_url: listed},
                  format_time(datetime.now(UTC) + timedelta(minutes=1)))


def _verdict(i: _Issued, creds: list[dict[str, Any]], **kw: Any) -> Any:
    return check_statement(creds, kw.get("town", i.issuer.did),
                           kw.get("docs", i.did_documents), kw.get("lists", i.status_lists),
                           i.now)


def test_the_statement_with_its_enrolment_is_valid(issued: _Issued) -> None:
    v = _verdict(issued, [issued.statement, issued.enrolment])
    assert v.outcome is Outcome.VALID and v.enrolments == 1
    assert v.household == issued.world.pseudonym(SATO) and v.balance >= 0
    assert v.checkpoint_origin == "eco-ledger.ui.test" and v.checkpoint_size > 0
    assert v.history_days is None
    bare = _verdict(issued, [issued.statement])
    assert bare.outcome is Outcome.VALID and bare.enrolments == 0


@pytest.mark.parametrize(("case", "reason"), [
    ("another household's enrolment", "enrolment"),
    ("the enrolment first", "not_statement"),
    ("another town", "other_town"),
    ("no copy of the document", "no_keys"),
    ("no copy of the status list", "no_status"),
    ("an altered enrolment", "enrolment"),
    ("an altered statement", "signature"),
    ("nothing", "not_statement"),
])
def test_what_is_refused_and_why(issued: _Issued, case: str, reason: str) -> None:
    i = issued
    creds, kw = [i.statement, i.enrolment], dict[str, Any]()
    if case == "another household's enrolment":
        creds = [i.statement, i.other_enrolment]
    elif case == "the enrolment first":
        creds = [i.enrolment, i.statement]
    elif case == "another town":
        kw = {"town": "did:web:another-town.test"}
    elif case == "no copy of the document":
        kw = {"docs": {}}
    elif case == "no copy of the status list":
        kw = {"lists": {}}
    elif case == "an altered enrolment":
        altered = copy.deepcopy(i.enrolment)
        altered["credentialSubject"]["programme"] = "another"
        creds = [i.statement, altered]
    elif case == "an altered statement":
        altered = copy.deepcopy(i.statement)
        altered["credentialSubject"]["asOf"] = "2030-01-01T00:00:00Z"
        creds = [altered]
    elif case == "nothing":
        creds = []
    v = _verdict(i, creds, **kw)
    assert (v.outcome, v.reason) == (Outcome.INVALID, reason), v.detail
    assert v.detail  # the English finding, for the log


def test_a_too_long_statement_gets_no_qr_code_but_keeps_its_text() -> None:
    big = [{"type": ["VerifiableCredential", "EcoPointsStatement"],
            "history": [{"day": f"d{i}", "g": (i * 7919) % 100003} for i in range(3000)]}]
    text, size, svg = statement_qr(translator("ja"), big)
    assert svg is None and int(size) == len(text) > 3000


@pytest.fixture
def api(issued: _Issued) -> Iterator[str]:
    server = read_api(issued.world)
    try:
        yield server.url
    finally:
        server.stop()


def test_the_copy_is_fetched_kept_and_used_when_the_town_is_unreachable(
        issued: _Issued, api: str, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    cache = TownCache(tmp_path / "keys", issued.issuer, api, timedelta(minutes=10))
    held = cache.keys(now)  # nothing kept yet: fetched
    assert held.fetched_at is not None and not held.unreachable
    assert set(held.did_documents) == {issued.issuer.did}
    assert set(held.status_lists) == {issued.issuer.status_list_url}
    offline = TownCache(tmp_path / "keys", issued.issuer, "http://127.0.0.1:9",
                        timedelta(minutes=10))
    later = offline.keys(now + timedelta(hours=1))  # due, and the town does not answer
    assert later.unreachable and later.fetched_at == held.fetched_at
    assert later.age(now + timedelta(hours=1)) == now + timedelta(hours=1) - held.fetched_at
    assert later.did_documents == held.did_documents


def test_another_towns_documents_are_not_kept(issued: _Issued, api: str,
                                              tmp_path: Path) -> None:
    cache = TownCache(tmp_path / "keys", Issuer("another-town.test"), api,
                      timedelta(minutes=10))
    held = cache.keys(datetime.now(UTC))
    assert held.unreachable and held.fetched_at is None and not held.did_documents
    assert not (tmp_path / "keys").exists()
