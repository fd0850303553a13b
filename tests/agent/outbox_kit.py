"""Readings for outbox tests: one fixed device key, the body of its n-th half-hour reading, and its
signature."""

from __future__ import annotations

from typing import Any

from eco_protocol.keys import device_id_of, private_key_from_raw, public_key_raw
from eco_protocol.signing import sign_record

KEY = private_key_from_raw(b"\x11" * 32)


DEVICE = device_id_of(public_key_raw(KEY))


def body(n: int) -> dict[str, Any]:
    h, m = divmod(n * 30, 60)
    start = f"2026-11-{22 + h // 24:02d}T{h % 24:02d}:{m:02d}:00Z"
    h2, m2 = divmod(n * 30 + 30, 60)
    end = f"2026-11-{22 + h2 // 24:02d}T{h2 % 24:02d}:{m2:02d}:00Z"
    return {"type": "eco.reading/v1", "device_id": DEVICE, "meter": "pv1",
            "quantity": "pv_generation", "start": start, "end": end,
            "register_start_wh": 100 * n, "register_end_wh": 100 * n + 100, "energy_wh": 100,
            "flags": [], "source": {"protocol": "sunspec-modbus", "meter_serial": "S",
                                    "meter_model": "M"}, "co2_g_estimate": 43}


def sign(r: Any) -> dict[str, Any]:
    return sign_record(r, KEY)
