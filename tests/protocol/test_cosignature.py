"""Witness cosignatures, c2sp.org/tlog-cosignature "cosignature/v1" (Ed25519, key type 0x04):
the key id, the signed message, the line layout (key id ‖ uint64be time ‖ signature), checking
them in notes and checkpoints beside plain Ed25519 witness keys, and k-of-n in evidence."""

from __future__ import annotations

import base64
import hashlib
import struct
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eco_protocol.errors import NoteError
from eco_protocol.evidence import verify_evidence
from eco_protocol.note import (
    MAX_COSIGNATURE_TIME,
    Checkpoint,
    CosignatureSigner,
    CosignatureVerifier,
    NoteSignature,
    NoteVerifier,
    cosignature_message,
    cosignature_time,
    open_checkpoint,
    open_note,
    parse_verifier_key,
    parse_witness_key,
    sign_note,
)
from tests.protocol.records_kit import (
    fixed_key,
    make_checkpoint,
    make_log,
    make_log_signer,
    make_witness_signer,
    write_evidence_dir,
)

W = CosignatureSigner("witness.example.com/w1", fixed_key("cosig/w1"))
TEXT = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"

# The example in c2sp.org/tlog-cosignature: the witness line whose signed message the spec shows
# ("cosignature/v1\ntime 1679315147\n" + the checkpoint above).
SPEC_LINE = ("— witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWX"
             "EhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==")


def test_spec_example_line_layout() -> None:
    name, b64 = SPEC_LINE[2:].split(" ")
    raw = base64.b64decode(b64)
    assert len(raw) == 4 + 8 + 64
    sig = NoteSignature(name, int.from_bytes(raw[:4], "big"), b64)
    assert cosignature_time(sig) == 1679315147


def test_signed_message_is_the_spec_one() -> None:
    assert cosignature_message(TEXT.encode(), 1679315147) == (
        b"cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\n"
        b"CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n")


def test_key_id_and_vkey_use_type_0x04() -> None:
    v = W.verifier
    pub = v.public_key.public_bytes_raw()
    digest = hashlib.sha256(b"witness.example.com/w1\n\x04" + pub).digest()
    assert v.key_id == struct.unpack(">I", digest[:4])[0]
    name, kid, key = v.vkey.split("+", 2)
    assert (name, kid) == ("witness.example.com/w1", f"{v.key_id:08x}")
    assert base64.b64decode(key) == b"\x04" + pub
    assert parse_witness_key(v.vkey) == v
    with pytest.raises(NoteError, match="only Ed25519, type 0x01"):
        parse_verifier_key(v.vkey)  # a log key is never a cosignature key


def test_line_layout_and_verification() -> None:
    sig = W.cosign(TEXT, 1679315147)
    raw = base64.b64decode(sig.b64)
    assert raw[:4] == struct.pack(">I", W.verifier.key_id)
    assert raw[4:12] == struct.pack(">Q", 1679315147)
    W.verifier.public_key.verify(raw[12:], cosignature_message(TEXT.encode(), 1679315147))
    assert sig.line == f"— witness.example.com/w1 {sig.b64}\n"
    assert W.verifier.verify(TEXT.encode(), raw[4:])
    assert not W.verifier.verify(TEXT.encode() + b"x\n", raw[4:])
    other_time = struct.pack(">Q", 1679315148) + raw[12:]
    assert not W.verifier.verify(TEXT.encode(), other_time)


def test_timestamp_bounds() -> None:
    W.cosign(TEXT, 0)
    W.cosign(TEXT, MAX_COSIGNATURE_TIME)
    for bad in (-1, MAX_COSIGNATURE_TIME + 1):
        with pytest.raises(NoteError, match="outside 0..2\\^63-1"):
            W.cosign(TEXT, bad)
    sig = W.private_key.sign(cosignature_message(TEXT.encode(), 2**63))
    assert not W.verifier.verify(TEXT.encode(), struct.pack(">Q", 2**63) + sig)
    with pytest.raises(NoteError, match="must end with a newline"):
        W.cosign(TEXT[:-1], 1)
    with pytest.raises(NoteError, match="invalid witness name"):
        CosignatureSigner("a b", fixed_key("x"))


def test_a_plain_signature_is_not_a_cosignature_and_vice_versa() -> None:
    """The same Ed25519 key as type 0x01 and as 0x04 has two key ids: neither line verifies as
    the other kind (the domain separation the cosignature/v1 header gives)."""
    key = fixed_key("cosig/dual")
    plain = NoteVerifier("dual.example", 0, key.public_key())
    cosig = CosignatureSigner("dual.example", key)
    assert cosig.verifier.key_id != make_witness_signer("dual.example").verifier.key_id
    raw = base64.b64decode(cosig.cosign(TEXT, 5).b64)
    assert not plain.verify(TEXT.encode(), raw[4:])


def test_open_checkpoint_with_cosignature_and_plain_witnesses() -> None:
    log, plain = make_log_signer(), make_witness_signer("plain.example")
    entries = make_log(log, devices=1, readings_per_device=1)
    note = make_checkpoint(entries, log, witnesses=[plain])
    text = note.split("\n\n")[0] + "\n"
    cosigned = note + W.cosign(text, 1_800_000_000).line
    cp, opened = open_checkpoint(cosigned, log.verifier, [plain.verifier, W.verifier])
    assert cp.size == len(entries)
    assert {s.name for s in opened.sigs} == {log.name, "plain.example", W.name}
    # unknown to the verifier: kept aside, not an error
    _, opened = open_checkpoint(cosigned, log.verifier)
    assert {s.name for s in opened.unverified} == {"plain.example", W.name}


def test_a_forged_cosignature_by_a_known_witness_is_an_error() -> None:
    log = make_log_signer()
    note = sign_note(Checkpoint(log.name, 1, b"\x01" * 32).text(), [log])
    sig = W.cosign(note.split("\n\n")[0] + "\n", 7)
    raw = bytearray(base64.b64decode(sig.b64))
    raw[11] ^= 1  # the timestamp: the signature no longer covers it
    forged = NoteSignature(sig.name, sig.key_id, base64.b64encode(bytes(raw)).decode())
    with pytest.raises(NoteError, match="invalid signature by witness.example.com/w1"):
        open_checkpoint(note + forged.line, log.verifier, [W.verifier])


@given(st.integers(0, 4 + 8 + 64 - 1), st.integers(1, 255))
def test_any_flipped_byte_fails(at: int, mask: int) -> None:
    sig = W.cosign(TEXT, 1679315147)
    raw = bytearray(base64.b64decode(sig.b64))
    raw[at] ^= mask
    line = f"— {W.name} {base64.b64encode(bytes(raw)).decode()}\n"
    log = make_log_signer()
    note = sign_note(TEXT, [log]) + line
    if at < 4:  # another key id: an unknown signer, ignored
        opened = open_note(note, [log.verifier, W.verifier])
        assert not opened.signed_by(W.name)
    else:
        with pytest.raises(NoteError, match="invalid signature"):
            open_note(note, [log.verifier, W.verifier])


def test_evidence_counts_cosigning_witnesses(tmp_path: Path) -> None:
    log = make_log_signer()
    entries = make_log(log, devices=1, readings_per_device=2)
    note = make_checkpoint(entries, log)
    cosigned = note + W.cosign(note.split("\n\n")[0] + "\n", 1_800_000_000).line
    ev = write_evidence_dir(tmp_path, entries, log, checkpoint=cosigned)
    lines = ev.entries_path.read_text().splitlines()
    s = verify_evidence(cosigned, log.verifier.vkey, [W.verifier.vkey], lines, min_witnesses=1)
    assert s.witnesses_signed == (W.name,)
    with pytest.raises(NoteError, match="0 known witness"):
        verify_evidence(cosigned, log.verifier.vkey, [], lines, min_witnesses=1)
    assert isinstance(parse_witness_key(make_witness_signer("p").verifier.vkey), NoteVerifier)
    assert isinstance(parse_witness_key(W.verifier.vkey), CosignatureVerifier)
