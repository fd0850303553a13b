"""eco_protocol.topics: the wire spelling of docs/protocol.md §3.1 (the literals here are the
test: they are what devices and brokers in the field use)."""

from __future__ import annotations

import pytest

from eco_protocol import logkey, topics

DEV = "0123456789abcdef0123456789abcdef"


def test_the_topics_of_protocol_3_1() -> None:
    assert topics.readings_topic(DEV) == f"eco/v1/{DEV}/readings"
    assert topics.receipts_topic(DEV) == f"eco/v1/{DEV}/receipts"
    assert topics.status_topic(DEV) == f"eco/v1/{DEV}/status"
    assert topics.LOG_KEYS_TOPIC == "eco/v1/log/keys"
    assert logkey.LOG_KEYS_TOPIC is topics.LOG_KEYS_TOPIC
    assert topics.READINGS_FILTER == "eco/v1/+/readings"
    assert topics.RECEIPTS_FILTER == "eco/v1/+/receipts"
    # the ACL's placeholder fills a whole level (docs/pitfalls.md §5)
    assert topics.device_topic("%u", topics.READINGS) == "eco/v1/%u/readings"


@pytest.mark.parametrize(("device", "leaf"), [
    (DEV, "keys"), (DEV, ""), ("", "readings"), ("a/b", "readings"), ("#", "readings"),
])
def test_device_topic_refuses_what_is_not_one(device: str, leaf: str) -> None:
    with pytest.raises(ValueError):
        topics.device_topic(device, leaf)


def test_the_device_of_a_readings_topic() -> None:
    assert topics.readings_device(f"eco/v1/{DEV}/readings") == DEV


@pytest.mark.parametrize("topic", [
    f"eco/v1/{DEV}/receipts",
    f"eco/v1/{DEV}/status",
    f"eco/v1/{DEV.upper()}/readings",
    f"eco/v1/{DEV[:-1]}/readings",
    f"eco/v1/{DEV}0/readings",
    f"eco/v1/{DEV}/readings/",
    f"eco/v1/{DEV}/readings\n",
    f"dev/eco/v1/{DEV}/readings",
    f"eco/v2/{DEV}/readings",
    "eco/v1/log/keys",
    "",
])
def test_anything_else_names_no_device(topic: str) -> None:
    assert topics.readings_device(topic) is None
