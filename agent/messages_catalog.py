"""The device agent's messages in English and Japanese (data; the mechanism is
:mod:`eco_protocol.messages`): ``eco-agent``'s output and the errors it prints."""

from __future__ import annotations

from collections.abc import Mapping

CATALOG: dict[str, Mapping[str, str]] = {
    "agent.cli.error": {"en": "eco-agent: {message}", "ja": "eco-agent: {message}"},
}
