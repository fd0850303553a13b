"""eco_protocol.keys: Ed25519 (RFC 8032 section 7.1 vectors) and device identifiers."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eco_protocol.errors import BadSignature, MalformedRecord
from eco_protocol.keys import (
    device_id_of,
    generate_private_key,
    private_key_from_raw,
    private_key_raw,
    public_key_from_raw,
    public_key_raw,
    verify_signature,
)

VECTORS: list[dict[str, str]] = json.loads(
    (Path(__file__).parent.parent / "vectors" / "rfc8032_ed25519.json").read_text("utf-8")
)["vectors"]


@pytest.mark.parametrize("v", VECTORS, ids=[v["name"] for v in VECTORS])
def test_rfc8032_vectors(v: dict[str, str]) -> None:
    key = private_key_from_raw(bytes.fromhex(v["secret_key"]))
    assert private_key_raw(key).hex() == v["secret_key"]
    assert public_key_raw(key).hex() == v["public_key"]
    message = bytes.fromhex(v["message"])
    assert key.sign(message).hex() == v["signature"]  # Ed25519 is deterministic
    public = public_key_from_raw(bytes.fromhex(v["public_key"]))
    assert public_key_raw(public).hex() == v["public_key"]
    verify_signature(public, bytes.fromhex(v["signature"]), message, "vector")


@pytest.mark.parametrize("v", VECTORS, ids=[v["name"] for v in VECTORS])
def test_rfc8032_signatures_do_not_verify_when_anything_changes(v: dict[str, str]) -> None:
    public = public_key_from_raw(bytes.fromhex(v["public_key"]))
    sig = bytes.fromhex(v["signature"])
    message = bytes.fromhex(v["message"])
    with pytest.raises(BadSignature, match="^reading 7: Ed25519 signature does not verify"):
        verify_signature(public, sig, message + b"\x00", "reading 7")
    for i in (0, 31, 32, 63):
        bad = bytearray(sig)
        bad[i] ^= 0x01
        with pytest.raises(BadSignature):
            verify_signature(public, bytes(bad), message, "sig")
    other = public_key_from_raw(bytes.fromhex(VECTORS[(VECTORS.index(v) + 1) % 3]["public_key"]))
    with pytest.raises(BadSignature):
        verify_signature(other, sig, message, "sig")


def test_device_id_is_first_16_bytes_of_sha256_of_the_raw_public_key() -> None:
    for v in VECTORS:
        raw = bytes.fromhex(v["public_key"])
        expected = hashlib.sha256(raw).hexdigest()[:32]
        assert device_id_of(raw) == expected
        assert len(device_id_of(raw)) == 32


def test_device_ids_differ_per_key() -> None:
    ids = {device_id_of(public_key_raw(generate_private_key())) for _ in range(20)}
    assert len(ids) == 20


@pytest.mark.parametrize("length", [0, 31, 33, 64])
def test_wrong_key_lengths_are_refused(length: int) -> None:
    with pytest.raises(MalformedRecord, match=f"must be 32 bytes, got {length}"):
        private_key_from_raw(bytes(length))
    with pytest.raises(MalformedRecord, match=f"must be 32 bytes, got {length}"):
        public_key_from_raw(bytes(length))
    with pytest.raises(MalformedRecord, match=f"must be 32 bytes, got {length}"):
        device_id_of(bytes(length))


@given(st.binary(min_size=32, max_size=32))
def test_any_32_byte_seed_is_a_key_and_round_trips(seed: bytes) -> None:
    key = private_key_from_raw(seed)
    assert private_key_raw(key) == seed
    pub = public_key_raw(key)
    assert public_key_raw(public_key_from_raw(pub)) == pub
    verify_signature(public_key_from_raw(pub), key.sign(b"m"), b"m", "m")


def test_vector_file_names_its_source() -> None:
    meta: dict[str, Any] = json.loads(
        (Path(__file__).parent.parent / "vectors" / "rfc8032_ed25519.json").read_text("utf-8"))
    assert "rfc8032#section-7.1" in meta["source"]
    assert [v["name"] for v in meta["vectors"]] == ["TEST 1", "TEST 2", "TEST 3"]
