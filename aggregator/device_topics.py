"""Where the devices' topics (docs/protocol.md §3.1) are on the broker, seen from the aggregator.

With access control the devices' listener has a ``mount_point`` (docs/protocol.md §3.5): the
broker puts the device prefix (``dev/``) in front of every topic and filter a device uses. So a
device's ``$share/<group>/eco/v1/+/readings`` becomes the plain filter
``dev/$share/<group>/eco/v1/+/readings``, which matches nothing and joins no share group
(Mosquitto 2.0's acl_file cannot refuse a SUBSCRIBE; docs/pitfalls.md §5). Devices keep the
protocol's topics (:mod:`eco_protocol.topics`); the aggregator, on its loopback listener without
a mount point, adds the prefix itself, and this module is the one place that does. An empty
prefix is the anonymous single-listener broker of the demo and the tests.

Pure functions only.
"""

from __future__ import annotations

import re
from typing import Final

# the protocol's filter, re-exported for broker_auth (the topic layout lives in eco_protocol)
from eco_protocol.topics import READINGS_FILTER as READINGS_FILTER

# one or more whole topic levels, each ending in '/'; never '$…' (the broker treats such topics
# specially and '#' does not match them), never a wildcard
DEFAULT_DEVICE_PREFIX: Final = "dev/"
_PREFIX_RE: Final = re.compile(r"^(?:[A-Za-z0-9_.-]+/)*$")


def check_prefix(prefix: str) -> str:
    """``prefix`` if it is "" or whole topic levels (``dev/``); ValueError otherwise."""
    if not _PREFIX_RE.fullmatch(prefix):
        raise ValueError(f"device_prefix {prefix!r} must be empty or topic levels of letters, "
                         "digits, '_', '.', '-', each ending in '/' (e.g. \"dev/\"); never "
                         "starting with '$'")
    return prefix


def on_broker(prefix: str, topic: str) -> str:
    """A protocol topic (or filter) as the aggregator publishes or subscribes it."""
    return prefix + topic


def from_broker(prefix: str, topic: str) -> str:
    """A topic the aggregator received, as the protocol names it: without the prefix. A topic
    without the prefix is returned as is (intake then refuses it as not a readings topic)."""
    return topic[len(prefix):] if topic.startswith(prefix) else topic


def shared_readings(prefix: str, share_group: str) -> str:
    """The aggregator workers' shared subscription to every device's readings."""
    return f"$share/{share_group}/{on_broker(prefix, READINGS_FILTER)}"
