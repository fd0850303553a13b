"""The device prefix (the devices' listener's mount_point; docs/protocol.md §3.5): the pure
helpers that compose it with the protocol's topics, its place in the config and the generated
broker files, and the agent's reading of a delivered topic. The broker itself is exercised in
tests/security/test_broker_attacks.py and tests/aggregator/test_broker_acl.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.uplink import is_topic
from aggregator.broker_auth import aggregator_acl_text, device_acl_text
from aggregator.config import EXAMPLE, example_config, load_config, with_device_prefix
from aggregator.device_topics import (
    DEFAULT_DEVICE_PREFIX,
    check_prefix,
    from_broker,
    on_broker,
    shared_readings,
)
from aggregator.errors import ConfigError
from aggregator.mosquitto import BrokerAuth, broker_config
from eco_protocol.topics import readings_device

DEV = "0123456789abcdef0123456789abcdef"


def test_the_aggregator_names_device_topics_with_the_prefix_and_reads_the_id_without_it() -> None:
    assert shared_readings("dev/", "agg-1") == "$share/agg-1/dev/eco/v1/+/readings"
    assert shared_readings("", "agg-1") == "$share/agg-1/eco/v1/+/readings"
    assert on_broker("dev/", f"eco/v1/{DEV}/receipts") == f"dev/eco/v1/{DEV}/receipts"
    assert readings_device(from_broker("dev/", f"dev/eco/v1/{DEV}/readings")) == DEV
    # a topic outside the prefix stays what it is, and intake refuses it
    assert from_broker("dev/", f"eco/v1/{DEV}/readings") == f"eco/v1/{DEV}/readings"
    assert readings_device(from_broker("dev/", f"other/eco/v1/{DEV}/readings")) is None


@pytest.mark.parametrize("bad", ["dev", "$dev/", "de+v/", "#/", "/", "dev//", "a b/"])
def test_a_prefix_is_whole_topic_levels_never_dollar_or_wildcards(bad: str) -> None:
    with pytest.raises(ValueError, match="device_prefix"):
        check_prefix(bad)
    assert check_prefix("dev/") == "dev/" and check_prefix("a/b-1/") == "a/b-1/"
    assert check_prefix("") == ""


def test_config_key_defaults_to_no_prefix_and_is_validated(tmp_path: Path) -> None:
    conf = tmp_path / "aggregator.toml"
    conf.write_text(example_config("o.test", tmp_path, "mqtt://127.0.0.1:1883"))
    assert load_config(conf).mqtt.device_prefix == ""  # the anonymous demo/test broker
    text = with_device_prefix(conf.read_text(), "dev/")
    assert text is not None and text.count("\ndevice_prefix = ") == 1
    conf.write_text(text)
    assert load_config(conf).mqtt.device_prefix == "dev/"
    again = with_device_prefix(text, "site/")  # the line is replaced, not added twice
    assert again is not None and again.count('device_prefix = "site/"') == 1
    conf.write_text(text.replace('device_prefix = "dev/"', 'device_prefix = "$SYS/"'))
    with pytest.raises(ConfigError, match="device_prefix"):
        load_config(conf)
    assert with_device_prefix("[log]\norigin = 'x'\n", "dev/") is None
    assert "# device_prefix" in EXAMPLE


def test_broker_files_put_the_prefix_in_the_mount_point_and_in_both_acls(tmp_path: Path) -> None:
    p = DEFAULT_DEVICE_PREFIX
    acl = device_acl_text(p)
    assert f"pattern write {p}eco/v1/%u/readings\n" in acl
    assert f"pattern read {p}eco/v1/log/keys\n" in acl
    assert "pattern write eco/v1/%u/readings" not in acl
    agg = aggregator_acl_text("eco-aggregator", p)
    assert f"topic read {p}eco/v1/+/readings\n" in agg
    assert f"topic write {p}eco/v1/+/receipts\n" in agg
    auth = BrokerAuth(tmp_path / "p", tmp_path / "a", tmp_path / "pa", tmp_path / "aa")
    conf = broker_config(1883, tmp_path, auth=auth, device_port=1884)
    devices = conf[conf.index("listener 1884"):]
    assert f"mount_point {p}\n" in devices
    assert conf.count("mount_point") == 1  # the aggregator's listener has none
    assert "mount_point" not in broker_config(1883, tmp_path)  # the anonymous broker: none


def test_the_agent_takes_its_topics_with_or_without_a_mount_point_left_in_front() -> None:
    ours = f"eco/v1/{DEV}/receipts"
    assert is_topic(ours, ours)
    assert is_topic(f"dev/{ours}", ours)  # Mosquitto 2.0.11 (eclipse-mosquitto#2244)
    assert not is_topic(f"eco/v1/{DEV}/readings", ours)
    assert not is_topic(f"xeco/v1/{DEV}/receipts", ours)
    assert not is_topic("eco/v1/log/keys", ours)
