"""The installer's hand-over after an enrolment (issue 17): the device's ``agent.toml`` snippet.

What the box needs to talk to this aggregator and nothing else — the log's verifier key (the
agent pins it and checks every receipt with it), the devices' broker URL, the broker login
(username = the device id; the password only on the page printed right after it was created:
the aggregator keeps its hash only). The web UI prints it with a QR code of the same text, which
``eco-agent provision`` (:mod:`agent.provision`) merges into the agent's config. Pure functions.
"""

from __future__ import annotations

from eco_runtime.toml_section import toml_string

from ..config import Config

# the devices' listener 'eco-aggregator broker-config' writes (its --tls-port default)
DEVICES_PORT = 8883


def devices_broker_url(cfg: Config, configured: str | None = None) -> str:
    """The broker URL devices connect to: ``configured`` (the UI's ``device_broker``) if set;
    else, for a broker with access control (``[mqtt] device_prefix`` set, the devices' own
    listener on port 8883, TLS when the aggregator's connection is), that listener on the
    aggregator's broker host; else (one anonymous listener: the demo, the tests) the
    aggregator's own broker URL."""
    if configured:
        return configured
    m = cfg.mqtt
    scheme = "mqtts" if m.tls else "mqtt"
    host = f"[{m.host}]" if ":" in m.host else m.host
    port = DEVICES_PORT if m.device_prefix else m.port
    return f"{scheme}://{host}:{port}"


def agent_snippet(*, device_id: str, log_vkey: str, broker: str,
                  password: str | None) -> str:
    """The TOML the page shows and its QR code holds; ``eco-agent provision`` reads it."""
    lines = [f"# eco-agent provision: device {device_id}",
             "[device]",
             f"log_key = {toml_string(log_vkey)}",
             "[uplink]",
             f"broker = {toml_string(broker)}",
             f"username = {toml_string(device_id)}"]
    if password is not None:
        lines.append(f"password = {toml_string(password)}")
    return "\n".join(lines) + "\n"


__all__ = ["DEVICES_PORT", "agent_snippet", "devices_broker_url"]
