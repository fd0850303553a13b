"""The aggregator's messages in English and Japanese (data; the mechanism is
:mod:`eco_protocol.messages`): ``eco-aggregator``'s output and the errors it prints."""

from __future__ import annotations

from collections.abc import Mapping

CATALOG: dict[str, Mapping[str, str]] = {
    "aggregator.cli.error": {"en": "eco-aggregator: {message}", "ja": "eco-aggregator: {message}"},
}
