"""The report sample of docs/protocol.md §5, drawn from the checkpoint's root hash.

The aggregator cannot choose the sample without changing the log: positions come from
SHA-256(root ‖ label ‖ counter). Pure; the aggregator draws, the verifier redraws and compares.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

GENERAL = b"eco-sample/v1"
HOUSEHOLD = b"eco-sample/v1/household"


def _u64(data: bytes) -> int:
    return int.from_bytes(hashlib.sha256(data).digest()[:8], "big")


def sample_positions(root: bytes, households: Sequence[str]) -> list[int]:
    """Positions into the covered readings (``households[i]`` = household of covered reading i).

    s = min(n, max(30, H)) general draws (k = 0, 1, …, skipping positions already drawn), then
    one reading for each household not yet sampled, at position
    int(SHA-256(root ‖ "eco-sample/v1/household" ‖ pseudonym)[:8]) mod (its covered count) among
    its own covered readings. Households are visited in order of first appearance.
    """
    n = len(households)
    if n == 0:
        return []
    distinct = list(dict.fromkeys(households))
    s = min(n, max(30, len(distinct)))
    drawn: list[int] = []
    seen: set[int] = set()
    k = 0
    while len(drawn) < s:
        pos = _u64(root + GENERAL + k.to_bytes(4, "big")) % n
        k += 1
        if pos not in seen:
            seen.add(pos)
            drawn.append(pos)
    sampled = {households[p] for p in drawn}
    for hh in distinct:
        if hh in sampled:
            continue
        own = [i for i, h in enumerate(households) if h == hh]
        drawn.append(own[_u64(root + HOUSEHOLD + hh.encode("utf-8")) % len(own)])
    return drawn
