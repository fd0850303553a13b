"""The MQTT topic layout of docs/protocol.md §3.1: the one place that spells ``eco/v1/…``.

| topic                          | direction            | QoS | retained |
|--------------------------------|----------------------|-----|----------|
| ``eco/v1/<device_id>/readings`` | device → aggregator  | 1   | no       |
| ``eco/v1/<device_id>/receipts`` | aggregator → device  | 1   | no       |
| ``eco/v1/<device_id>/status``   | device               | 1   | yes      |
| ``eco/v1/log/keys``             | aggregator           | 1   | yes      |

These are the topics as a device uses them. Where they sit on a broker with a mount point (the
``dev/`` prefix in front of every device topic, §3.5) is the aggregator's business
(``aggregator.device_topics``) and the agent's (``agent.uplink.is_topic``).

Pure: strings in, strings out. The ``device`` argument of :func:`device_topic` is a device id, or
the single-level wildcard ``+`` of a subscription filter, or an ACL placeholder such as ``%u``;
callers that take a topic from the wire read the device id back with :func:`readings_device`.
"""

from __future__ import annotations

import re
from typing import Final

ROOT: Final = "eco/v1"
READINGS: Final = "readings"
RECEIPTS: Final = "receipts"
STATUS: Final = "status"

# retained, published by the aggregator: a JSON array of every eco.logkey/v1 record, oldest
# first, so an agent that pinned any earlier key can follow the chain to the current one (§4.8)
LOG_KEYS_TOPIC: Final = f"{ROOT}/log/keys"

# one device id: 32 lowercase hex digits (docs/protocol.md §1.4)
_READINGS_RE: Final = re.compile(rf"{re.escape(ROOT)}/([0-9a-f]{{32}})/{READINGS}")


def device_topic(device: str, leaf: str) -> str:
    """``eco/v1/<device>/<leaf>``; ``leaf`` is :data:`READINGS`, :data:`RECEIPTS` or
    :data:`STATUS`."""
    if leaf not in (READINGS, RECEIPTS, STATUS):
        raise ValueError(f"{leaf!r} is not a device topic of docs/protocol.md §3.1")
    if not device or "/" in device or "#" in device:
        raise ValueError(f"{device!r} is not one topic level")
    return f"{ROOT}/{device}/{leaf}"


def readings_topic(device_id: str) -> str:
    """Where a device publishes its readings."""
    return device_topic(device_id, READINGS)


def receipts_topic(device_id: str) -> str:
    """Where the aggregator answers a device's readings messages."""
    return device_topic(device_id, RECEIPTS)


def status_topic(device_id: str) -> str:
    """A device's retained ``online``/``offline`` (its last will)."""
    return device_topic(device_id, STATUS)


# the aggregator's subscription: every device's readings (behind $share/<group>/ and its prefix)
READINGS_FILTER: Final = device_topic("+", READINGS)
# every device's receipts (what the devices get; benchmarks watch it)
RECEIPTS_FILTER: Final = device_topic("+", RECEIPTS)


def readings_device(topic: str) -> str | None:
    """The device id of a readings topic (``eco/v1/<32 hex>/readings``), or None for any other
    topic: the aggregator drops such a message unanswered (docs/protocol.md §3.3)."""
    m = _READINGS_RE.fullmatch(topic)
    return None if m is None else m.group(1)


__all__ = ["LOG_KEYS_TOPIC", "READINGS", "READINGS_FILTER", "RECEIPTS", "RECEIPTS_FILTER",
           "ROOT", "STATUS", "device_topic", "readings_device", "readings_topic",
           "receipts_topic", "status_topic"]
