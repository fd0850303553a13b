"""The municipality's did:web as configured (``[did] host``/``path``, by default the log origin),
and where the read API serves its document and status list: the well-known path for a bare host,
``/<path>/did.json`` with a path; a host without the log key (a mirror) serves the document but
not the signed list."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from aggregator.cli.common import open_ledger
from aggregator.cli.serve import start_http
from aggregator.config import load_config
from aggregator.did_web import Issuer, issuer_of
from aggregator.errors import ConfigError
from aggregator.store import open_store
from eco_protocol.did import did_web_url
from tests.webui.webui_kit import run_cli


def _init(tmp_path: Path, origin: str, did: str = "") -> Path:
    state = tmp_path / "agg"
    conf = state / "aggregator.toml"
    run_cli(conf, "init", str(state), "--origin", origin, "--broker", "mqtt://127.0.0.1:1")
    if did:  # the keys in the [did] table init wrote (commented out)
        conf.write_text(conf.read_text().replace("\n[did]\n", f"\n[did]\n{did}\n"))
    return conf


def test_the_did_is_the_origin_by_default(tmp_path: Path) -> None:
    cfg = load_config(_init(tmp_path, "eco-ledger.example-city.lg.jp"))
    issuer = issuer_of(cfg)
    assert issuer.did == "did:web:eco-ledger.example-city.lg.jp"
    assert issuer.document_path == "/.well-known/did.json"
    assert did_web_url(issuer.did) == "https://eco-ledger.example-city.lg.jp/.well-known/did.json"
    assert issuer.status_list_url == "https://eco-ledger.example-city.lg.jp/credentials/status"


def test_a_configured_host_and_path(tmp_path: Path) -> None:
    conf = _init(tmp_path, "Example-City/ledger",
                 'host = "city.example.lg.jp:8443"\npath = "eco/credit"')
    issuer = issuer_of(load_config(conf))
    assert issuer == Issuer("city.example.lg.jp:8443", ("eco", "credit"))
    assert issuer.did == "did:web:city.example.lg.jp%3A8443:eco:credit"
    assert issuer.document_path == "/eco/credit/did.json"
    # the path the read API serves is the path did:web resolution fetches
    assert did_web_url(issuer.did).endswith(issuer.document_path)
    assert issuer.status_list_url == "https://city.example.lg.jp:8443/eco/credit/credentials/status"


def test_an_origin_that_is_no_host_name_needs_did_host(tmp_path: Path) -> None:
    cfg = load_config(_init(tmp_path, "Example-City/ledger"))
    with pytest.raises(ConfigError, match=r"set \[did\] host"):
        issuer_of(cfg)


@pytest.mark.parametrize("table, problem", [
    ('host = "City.Example"', "not a host name"),
    ('host = "city.example/eco"', "not a host name"),
    ('host = "city.example"\npath = "eco/cr edit"', "use segments"),
    ('path = "eco"', "'path' needs 'host' too"),
    ('hots = "city.example"', "did you mean 'host'"),
])
def test_a_bad_did_table_is_refused_by_name(tmp_path: Path, table: str, problem: str) -> None:
    conf = _init(tmp_path, "eco-ledger.example", table)
    with pytest.raises(ConfigError, match=problem):
        load_config(conf)


def _get(url: str) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_the_read_api_serves_the_document_at_the_path_of_the_did(tmp_path: Path) -> None:
    conf = _init(tmp_path, "eco-ledger.example", 'host = "city.example"\npath = "eco"')
    cfg = load_config(conf)
    store = open_store(cfg)
    vkey = store.get_meta("log_vkey")
    store.close()
    assert vkey is not None
    api = start_http(cfg, vkey, "127.0.0.1:0")
    assert api is not None
    try:
        status, error = _get(api.url + "/eco/did.json")
        assert status == 404 and "not signed a checkpoint yet" in str(error["error"])
        ledger = open_ledger(cfg)
        ledger.checkpoint_now()
        ledger.store.close()
        status, doc = _get(api.url + "/eco/did.json")
        assert status == 200 and doc["id"] == "did:web:city.example:eco"
        status, listed = _get(api.url + "/eco/credentials/status")
        assert status == 200 and listed["id"] == "https://city.example/eco/credentials/status"
        assert _get(api.url + "/.well-known/did.json")[0] == 404
    finally:
        api.stop()

    # a host without the log key file: the document (public keys only), not the signed list
    cfg.key_file.rename(cfg.key_file.with_name("elsewhere.key"))
    api = start_http(cfg, vkey, "127.0.0.1:0")
    assert api is not None
    try:
        assert _get(api.url + "/eco/did.json")[0] == 200
        status, error = _get(api.url + "/eco/credentials/status")
        assert status == 404 and "no such resource" in str(error["error"])
    finally:
        api.stop()
