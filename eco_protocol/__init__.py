"""eco_protocol — the shared contract of the eco-credit system (docs/protocol.md v1).

Imported by the device agent, the municipality's aggregator and the buyer's verifier alike, so it
depends on ``cryptography`` and ``rfc8785`` only. Everything here is a pure function over bytes and
records, except :mod:`eco_protocol.keyfile` (key files) and the ``eco-verify`` command line.

Modules: :mod:`canonical` (RFC 8785), :mod:`encoding`, :mod:`keys` (Ed25519, device ids),
:mod:`signing` (the bytes a signature covers, an entry's hash), :mod:`fields` (field checks and
the ``Signed`` base of every record), :mod:`records` (wire records), :mod:`programme_records`,
:mod:`logkey`, :mod:`dispatch` (``parse_record``: the one map from ``type`` to record class),
:mod:`note` (C2SP signed notes, checkpoints),
:mod:`merkle` (RFC 6962/9162 trees and proofs), :mod:`evidence` (offline ledger verification).
"""

PROTOCOL_VERSION = 1
