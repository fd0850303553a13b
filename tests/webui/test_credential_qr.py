"""The statement QR code's encoding (aggregator/webui/credential_qr.py): Base45 as RFC 9285
spells it, the ECO1: payload round trip, and what is refused."""

from __future__ import annotations

import json
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aggregator.webui import credential_qr as cq
from aggregator.webui.qr import qr_matrix

# RFC 9285 §4.3 and §4.4
VECTORS = [(b"AB", "BB8"), (b"Hello!!", "%69 VD92EX0"), (b"base-45", "UJCLQE7W581"),
           (b"ietf!", "QED8WEX0")]


@pytest.mark.parametrize(("raw", "text"), VECTORS)
def test_base45_is_rfc_9285(raw: bytes, text: str) -> None:
    assert cq.b45encode(raw) == text
    assert cq.b45decode(text) == raw


@given(st.binary(max_size=300))
def test_base45_round_trips(raw: bytes) -> None:
    assert cq.b45decode(cq.b45encode(raw)) == raw


@pytest.mark.parametrize("bad", ["GGW", "ZZZ", "a", "ab!", "QED8WEX"])
def test_base45_refuses_what_rfc_9285_does(bad: str) -> None:
    with pytest.raises(cq.QrPayloadError):
        cq.b45decode(bad)


def test_the_payload_round_trips_and_fits_qr_alphanumeric() -> None:
    creds = [{"type": ["VerifiableCredential", "EcoPointsStatement"], "n": i} for i in range(2)]
    text = cq.encode(creds)
    assert text.startswith("ECO1:") and set(text) <= set(cq.BASE45)
    assert cq.decode(text) == creds
    assert cq.decode(text.lower()) == creds  # a scanner may fold case
    assert qr_matrix(text)  # encodable
    presentation = json.dumps(cq.presentation(creds))
    assert cq.decode(presentation) == creds  # the JSON itself, pasted
    assert cq.decode(json.dumps(creds[0])) == [creds[0]]  # one credential, pasted


@pytest.mark.parametrize("text", [
    "", "hello", "ECO1:", "[1]", "{not json",
    "ECO1:" + cq.b45encode(b"not zlib"),
    "ECO1:" + cq.b45encode(zlib.compress(b"[1, 2]")),
    "ECO1:" + cq.b45encode(zlib.compress(b'{"type": ["VerifiablePresentation"]}')),
    "ECO1:" + cq.b45encode(zlib.compress(b"{" * 10 + b"x")),
    "ECO1:" + cq.b45encode(zlib.compress(b" " * (cq.MAX_INFLATED + 1))),
    "ECO1:" + cq.b45encode(zlib.compress(b'{"a": 1}')[:-3]),
])
def test_what_is_not_a_statement_payload_is_refused(text: str) -> None:
    with pytest.raises(cq.QrPayloadError):
        cq.decode(text)
