"""What the agent and the aggregator share at run time, and the buyer's verifier never needs.

``eco_protocol`` stays pure (bytes in, verified records out) so that ``eco-verify`` installs alone;
``eco_runtime`` holds the small I/O helpers both services use — the broker URL, sd_notify, the
MQTT client set-up — so that ``agent`` and ``aggregator`` never import each other.
"""
