"""The other side of every wire: simulated meters and inverters for tests and ``make demo``.

Each simulator implements the real interface (a SunSpec inverter speaking Modbus RTU on a pty,
…) on top of pure models (sun, register maps, framing) that are seeded and take time as an
argument, so every run of the demo gives the same totals.
"""
