"""Child process for the outbox crash test: commits cycles (and acknowledges some) in a tight
loop until it is SIGKILLed, reporting on stdout what it has done.

Lines: ``C <seq> <sha256>`` after a cycle's commit returned, ``a <seq>`` before an acknowledge,
``A <seq>`` after it returned. Usage: ``python outbox_crash_child.py OUTBOX SEED [noncreditable]``;
with ``noncreditable`` every acknowledgement is an accepted item marked ``"creditable": false``
(deleted and recorded in one transaction).
"""

from __future__ import annotations

import random
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agent.outbox import Outbox
from eco_protocol.keys import device_id_of, private_key_from_raw, public_key_raw
from eco_protocol.signing import sign_record

KEY = private_key_from_raw(b"\x11" * 32)
DEVICE = device_id_of(public_key_raw(KEY))
T0 = 1_795_305_600


def fmt(t: int) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def body(n: int) -> dict[str, Any]:
    start = T0 + 1800 * n
    return {"type": "eco.reading/v1", "device_id": DEVICE, "meter": "pv1",
            "quantity": "pv_generation", "start": fmt(start), "end": fmt(start + 1800),
            "register_start_wh": 1000 * n, "register_end_wh": 1000 * (n + 1), "energy_wh": 1000,
            "flags": [], "source": {"protocol": "sunspec-modbus", "meter_serial": "S",
                                    "meter_model": "M"}, "co2_g_estimate": 434}


def main() -> None:
    path, seed = Path(sys.argv[1]), int(sys.argv[2])
    noncreditable = sys.argv[3:] == ["noncreditable"]
    rng = random.Random(seed)
    box = Outbox.open(path, DEVICE)
    n = box.counts().next_seq
    print("READY", flush=True)
    committed: list[int] = []
    while True:
        k = rng.randint(1, 4)
        bodies = [body(n + i) for i in range(k)]
        stored = box.commit_cycle(bodies, {"pv1": {"last_seq": n + k - 1}},
                                  lambda r: sign_record(r, KEY))
        n += k
        sys.stdout.write("".join(f"C {r.seq} {r.sha256}\n" for r in stored))
        sys.stdout.flush()
        committed.extend(r.seq for r in stored)
        if len(committed) > 3 and rng.random() < 0.5:
            seq = committed.pop(rng.randrange(len(committed) - 2))
            held = box.get(seq)
            if held is not None:
                print(f"a {seq}", flush=True)
                if noncreditable:
                    out = box.apply_receipt([], [], None, [(seq, held.sha256, f"overlap: {seq}")],
                                            fmt(T0))
                    assert out.non_creditable == (seq,)
                else:
                    assert box.acknowledge(seq, held.sha256)
                print(f"A {seq}", flush=True)


if __name__ == "__main__":
    main()
