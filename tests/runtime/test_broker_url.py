"""One reading of a broker URL for the agent and the aggregator (issue 15 seam 8: the two parsers
had drifted; ``tcp://`` and ``ssl://`` were accepted by the aggregator only)."""

from __future__ import annotations

from pathlib import Path

import pytest

from aggregator.config import load_config
from aggregator.errors import ConfigError
from eco_runtime.broker_url import BrokerURL, BrokerURLError, parse_broker_url


@pytest.mark.parametrize(("url", "want"), [
    ("mqtt://127.0.0.1", BrokerURL("127.0.0.1", 1883, False)),
    ("mqtts://broker.example:8884", BrokerURL("broker.example", 8884, True)),
    ("mqtts://broker.example", BrokerURL("broker.example", 8883, True)),
    ("mqtt://[::1]:1884/", BrokerURL("::1", 1884, False)),
])
def test_good_urls(url: str, want: BrokerURL) -> None:
    assert parse_broker_url(url) == want


@pytest.mark.parametrize(("url", "why"), [
    ("tcp://h:1883", "is not a broker URL"),
    ("ssl://h:8883", "is not a broker URL"),
    ("http://h", "is not a broker URL"),
    ("mqtt://", "is not a broker URL"),
    ("mqtt://h:99999", "invalid port"),
    ("mqtt://h:1883/topic", "give only mqtt://HOST:PORT"),
    ("mqtt://u:secret@h:1883", "put a login in username/password"),
    ("mqtt://h:1883?x=1", "give only"),
])
def test_bad_urls_say_what_to_write(url: str, why: str) -> None:
    with pytest.raises(BrokerURLError, match=why.replace("?", r"\?")):
        parse_broker_url(url)


def test_the_aggregator_refuses_what_the_agent_refuses(tmp_path: Path) -> None:
    conf = tmp_path / "aggregator.toml"
    conf.write_text('[log]\norigin = "o"\n[store]\nstate_dir = "s"\n'
                    '[mqtt]\nbroker = "tcp://127.0.0.1:1883"\n', "utf-8")
    with pytest.raises(ConfigError, match=r"\[mqtt\]: broker 'tcp://127.0.0.1:1883' is not a "
                                          r"broker URL: use mqtt://HOST:PORT"):
        load_config(conf)


@pytest.mark.parametrize(("extra", "why"), [
    ("[ingest]\ngroup_mx = 64\n",
     r"\[ingest\]: unknown key 'group_mx' \(did you mean 'group_max'\?\)"),
    ("[witness]\nvkeys = []\n", r"unknown section \[witness\] \(did you mean '\[?witnesses"),
    ("[mqtt2]\n", r"unknown section \[mqtt2\]"),
])
def test_the_aggregator_refuses_unknown_sections_and_keys(tmp_path: Path, extra: str,
                                                          why: str) -> None:
    """A misspelt key used to be ignored, so the default ran instead of what was meant."""
    conf = tmp_path / "aggregator.toml"
    conf.write_text('[log]\norigin = "o"\n[store]\nstate_dir = "s"\n'
                    '[mqtt]\nbroker = "mqtt://127.0.0.1:1883"\n' + extra, "utf-8")
    with pytest.raises(ConfigError, match=why):
        load_config(conf)


def test_a_configurations_tls_picks_the_default_port_only_when_the_url_names_none() -> None:
    assert parse_broker_url("mqtt://h").port_for(tls=True) == 8883
    assert parse_broker_url("mqtt://h").port_for(tls=False) == 1883
    assert parse_broker_url("mqtt://h:1884").port_for(tls=True) == 1884
    assert parse_broker_url("mqtts://h").port_for(tls=True) == 8883
