"""eco_protocol.note: C2SP signed notes and checkpoints, byte-compatible with sumdb/note.

Vectors: tests/vectors/sumdb_note.json, from golang.org/x/mod/sumdb/note's example_test.go and
note_test.go (see tests/vectors/README.md).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import struct
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eco_protocol.errors import NoteError
from eco_protocol.keys import private_key_from_raw, public_key_raw
from eco_protocol.note import (
    Checkpoint,
    NoteSignature,
    NoteSigner,
    key_id,
    open_checkpoint,
    open_note,
    parse_verifier_key,
    sign_note,
    verifier_key,
)
from tests.protocol.records_kit import fixed_key, make_log_signer, make_witness_signer

V: dict[str, Any] = json.loads(
    (Path(__file__).parent.parent / "vectors" / "sumdb_note.json").read_text("utf-8"))
TEXT: str = V["text"]


def _peter_signer() -> NoteSigner:
    """The skey of ExampleSign: PRIVATE+KEY+<name>+<hash>+base64(0x01 ‖ 32-byte seed)."""
    prefix1, prefix2, name, hash_hex, key_b64 = V["peter"]["skey"].split("+", 4)
    assert (prefix1, prefix2) == ("PRIVATE", "KEY")
    raw = base64.b64decode(key_b64)
    assert raw[0] == 0x01 and len(raw) == 33
    signer = NoteSigner(name, private_key_from_raw(raw[1:]))
    assert f"{signer.verifier.key_id:08x}" == hash_hex
    return signer


def _enoch_signer() -> NoteSigner:
    seed = bytes.fromhex(V["enoch"]["seed_hex"])
    return NoteSigner(V["enoch"]["name"], private_key_from_raw(seed))


PETER = parse_verifier_key(V["peter"]["vkey"])
ENOCH = parse_verifier_key(V["enoch"]["vkey"])


def _b64d(text: str) -> bytes:
    return base64.b64decode(text)


# --- the Go examples, byte for byte ------------------------------------------------------------


def test_go_example_verifier_keys_and_key_ids() -> None:
    assert PETER.name == "PeterNeumann" and f"{PETER.key_id:08x}" == V["peter"]["key_id"]
    assert ENOCH.name == "EnochRoot" and f"{ENOCH.key_id:08x}" == V["enoch"]["key_id"]
    assert PETER.vkey == V["peter"]["vkey"]
    assert _peter_signer().verifier.vkey == V["peter"]["vkey"]
    assert _enoch_signer().verifier.vkey == V["enoch"]["vkey"]
    assert verifier_key("PeterNeumann", PETER.public_key) == V["peter"]["vkey"]
    # key id = SHA-256(name ‖ "\n" ‖ 0x01 ‖ key)[:4], computed independently here
    raw = bytes([1]) + public_key_raw(PETER.public_key)
    digest = hashlib.sha256(b"PeterNeumann\n" + raw).digest()
    assert key_id("PeterNeumann", raw) == struct.unpack(">I", digest[:4])[0] == PETER.key_id


def test_go_example_sign_is_byte_exact() -> None:
    assert sign_note(TEXT, [_peter_signer()]) == V["signed_by_peter"]


def test_go_example_add_signatures_is_byte_exact() -> None:
    opened = open_note(V["signed_by_peter"], [PETER])
    assert sign_note(opened.text, [_enoch_signer()], existing=opened.sigs) == \
        V["signed_by_peter_and_enoch"]


def test_go_example_open() -> None:
    note = open_note(V["signed_by_peter"], [PETER])
    assert note.text == TEXT
    assert note.sigs == (NoteSignature("PeterNeumann", 0xC74F20A3, V["peter_signature_b64"]),)
    assert note.unverified == ()
    assert note.signed_by("PeterNeumann") and not note.signed_by("EnochRoot")
    # bytes and str are the same note
    assert open_note(V["signed_by_peter"].encode("utf-8"), [PETER]) == note


def test_go_open_one_verified_one_not() -> None:
    note = open_note(V["signed_by_peter_and_enoch"], [PETER])
    assert [s.name for s in note.sigs] == ["PeterNeumann"]
    assert note.unverified == (NoteSignature("EnochRoot", 0xAF0CFE78, V["enoch_signature_b64"]),)
    both = open_note(V["signed_by_peter_and_enoch"], [PETER, ENOCH])
    assert [s.name for s in both.sigs] == ["PeterNeumann", "EnochRoot"]
    assert both.unverified == ()


def test_go_open_unknown_signer_only_is_refused() -> None:
    with pytest.raises(NoteError, match=r"no signature by a known key \(signed by: EnochRoot, "
                                        r"PeterNeumann\)"):
        open_note(V["signed_by_peter_and_enoch"], [])
    with pytest.raises(NoteError, match="no signature by a known key"):
        open_note(V["signed_by_peter"], [ENOCH])


@pytest.mark.parametrize("case", V["malformed_messages"],
                         ids=[c["go_expression"] for c in V["malformed_messages"]])
def test_go_malformed_messages(case: dict[str, str]) -> None:
    with pytest.raises(NoteError, match="malformed note|not UTF-8"):
        open_note(_b64d(case["msg_b64"]), [PETER])


def test_go_too_many_signatures() -> None:
    with pytest.raises(NoteError, match="more than 100 signatures"):
        open_note(_b64d(V["too_many_signatures_b64"]), [PETER])
    with pytest.raises(NoteError, match="more than 100 signatures"):
        open_note(_b64d(V["too_many_signatures_b64"]), [])


def test_go_invalid_signature_by_a_known_key_is_an_error() -> None:
    with pytest.raises(NoteError, match="invalid signature by PeterNeumann\\+c74f20a3"):
        open_note(_b64d(V["invalid_signature_b64"]), [PETER])


def test_go_duplicated_verified_and_unverified_signatures() -> None:
    d = V["duplicates"]
    note = open_note(_b64d(d["msg_b64"]), [PETER])
    assert [s.b64 for s in note.sigs] == d["verified"]
    assert [s.b64 for s in note.unverified] == d["unverified"]


@pytest.mark.parametrize("case", V["bad_verifier_keys"], ids=[c["why"] for c in
                                                              V["bad_verifier_keys"]])
def test_go_bad_verifier_keys(case: dict[str, str]) -> None:
    with pytest.raises(NoteError, match="PeterNeumann"):
        parse_verifier_key(case["vkey"])


def test_go_every_substring_and_increment_of_a_verifier_key_is_refused() -> None:
    """TestNewVerifier: proper substrings and one-byte increments of the vkey all fail."""
    vkey = V["peter"]["vkey"]
    for i in range(len(vkey) + 1):
        for j in range(i + 1, len(vkey) + 1):
            if (i, j) != (0, len(vkey)):
                with pytest.raises(NoteError):
                    parse_verifier_key(vkey[i:j])
    for i in range(len(vkey)):
        bumped = vkey[:i] + chr(ord(vkey[i]) + 1) + vkey[i + 1:]
        with pytest.raises(NoteError):
            parse_verifier_key(bumped)


# --- our own signers ----------------------------------------------------------------------------


def test_sign_open_round_trip_with_witnesses() -> None:
    log, w1, w2 = make_log_signer(), make_witness_signer("w1.example"), make_witness_signer("w2")
    text = Checkpoint(log.name, 5, bytes(range(32))).text()
    msg = sign_note(text, [log, w1, w2])
    note = open_note(msg, [log.verifier, w1.verifier, w2.verifier])
    assert note.text == text
    assert [s.name for s in note.sigs] == [log.name, "w1.example", "w2"]
    # a witness co-signs an existing note: other lines are kept (verified or not), its own
    # line is replaced by the fresh one, appended at the end
    seen = open_note(msg, [log.verifier])
    cosigned = sign_note(text, [w1], existing=(*seen.sigs, *seen.unverified))
    assert cosigned.count("\n— ") == 3
    reopened = open_note(cosigned, [log.verifier, w1.verifier, w2.verifier])
    assert [s.name for s in reopened.sigs] == [log.name, "w2", "w1.example"]


def test_resigning_replaces_rather_than_duplicates_the_own_line() -> None:
    log = make_log_signer()
    msg = sign_note(TEXT, [log])
    again = sign_note(TEXT, [log], existing=open_note(msg, [log.verifier]).sigs)
    assert again == msg


def test_wrong_key_with_the_same_name_is_unknown_not_accepted() -> None:
    real, impostor = make_log_signer(), make_log_signer(label="impostor")
    assert real.name == impostor.name and real.verifier.key_id != impostor.verifier.key_id
    with pytest.raises(NoteError, match="no signature by a known key"):
        open_note(sign_note(TEXT, [impostor]), [real.verifier])


def test_forged_line_under_a_known_key_id_is_an_invalid_signature() -> None:
    real, impostor = make_log_signer(), make_log_signer(label="impostor")
    forged_raw = struct.pack(">I", real.verifier.key_id) + impostor.sign(TEXT.encode())
    msg = TEXT + "\n" + f"— {real.name} {base64.b64encode(forged_raw).decode()}\n"
    with pytest.raises(NoteError, match=f"invalid signature by {real.name}"):
        open_note(msg, [real.verifier])


@pytest.mark.parametrize(("old", "new"), [
    ("is the answer", "is THE answer"),
    ("problem is.\n", "problem is!\n"),
    ("If you", "If  you"),
])
def test_tampered_text_fails(old: str, new: str) -> None:
    msg = V["signed_by_peter"].replace(old, new, 1)
    assert msg != V["signed_by_peter"]
    with pytest.raises(NoteError, match="invalid signature by PeterNeumann"):
        open_note(msg, [PETER])


def test_text_must_end_with_newline() -> None:
    with pytest.raises(NoteError, match="must end with a newline"):
        sign_note("no newline", [make_log_signer()])


@pytest.mark.parametrize("name", ["", "has space", "a+b", "tab\there", "nbsp\u00a0x"])
def test_invalid_signer_names(name: str) -> None:
    with pytest.raises(NoteError, match="invalid"):
        NoteSigner(name, fixed_key("n"))
    with pytest.raises(NoteError, match="invalid key name"):
        verifier_key(name, fixed_key("n").public_key())


@pytest.mark.parametrize(("vkey", "message"), [
    ("PeterNeumann", "expected name\\+keyid\\+key"),
    ("PeterNeumann+c74f20a3", "expected name\\+keyid\\+key"),
    ("+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "bad name or key id"),
    ("PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "bad name or key id"),
    ("PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "bad name or key id"),
    ("Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "bad name or key id"),
    ("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T", "not base64"),
    ("PeterNeumann+c74f20a3+ÄRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "not base64"),
    ("PeterNeumann+c74f20a3+", "unknown algorithm or wrong length"),
    ("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
     "key id c74f20a4 does not match"),
])
def test_verifier_key_parse_errors(vkey: str, message: str) -> None:
    with pytest.raises(NoteError, match=message):
        parse_verifier_key(vkey)


def test_verifier_key_whose_base64_contains_plus_parses() -> None:
    """note.NewVerifier splits off name and key id only; the key's base64 may hold '+'."""
    found = 0
    for i in range(64):
        signer = NoteSigner("log.example", fixed_key(f"plus-{i}"))
        vkey = signer.verifier.vkey
        if "+" in vkey.split("+", 2)[2]:
            found += 1
            assert parse_verifier_key(vkey) == signer.verifier
    assert found > 0


def test_verifier_key_surrounding_whitespace_is_ignored() -> None:
    assert parse_verifier_key(" " + V["peter"]["vkey"] + "\n") == PETER


# --- checkpoints --------------------------------------------------------------------------------


def test_checkpoint_text_format() -> None:
    cp = Checkpoint("eco-ledger.example-city.lg.jp", 17, bytes(32))
    assert cp.text() == ("eco-ledger.example-city.lg.jp\n17\n"
                         "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n")
    assert Checkpoint.from_text(cp.text()) == cp
    ext = Checkpoint("o", 0, bytes(32), ("ext one", "ext two"))
    assert ext.text().endswith("=\next one\next two\n")
    assert Checkpoint.from_text(ext.text()) == ext


@pytest.mark.parametrize(("text", "message"), [
    ("o\n1\nAAAA", "must end with a newline"),
    ("o\n1\n", "needs origin, size and root"),
    ("o\n01\n" + base64.b64encode(bytes(32)).decode() + "\n", "not a decimal integer"),
    ("o\n-1\n" + base64.b64encode(bytes(32)).decode() + "\n", "not a decimal integer"),
    ("o\n1 \n" + base64.b64encode(bytes(32)).decode() + "\n", "not a decimal integer"),
    ("o\n1\n" + "é" * 44 + "\n", "not base64"),
    ("o\n1\n!!!!\n", "not base64"),
    ("o\n1\n" + base64.b64encode(bytes(31)).decode() + "\n", "32-byte root"),
    ("\n1\n" + base64.b64encode(bytes(32)).decode() + "\n", "non-empty single line"),
    ("o\n1\n" + base64.b64encode(bytes(32)).decode() + "\n\n", "extension lines"),
])
def test_checkpoint_parse_errors(text: str, message: str) -> None:
    with pytest.raises(NoteError, match=message):
        Checkpoint.from_text(text)


def test_open_checkpoint() -> None:
    log, witness = make_log_signer(), make_witness_signer("witness.example")
    cp = Checkpoint(log.name, 3, hashlib.sha256(b"root").digest())
    msg = sign_note(cp.text(), [log, witness])
    opened, note = open_checkpoint(msg, log.verifier, [witness.verifier])
    assert opened == cp
    assert note.signed_by("witness.example")


def test_open_checkpoint_needs_the_log_signature_and_origin() -> None:
    log, witness = make_log_signer(), make_witness_signer("witness.example")
    cp = Checkpoint(log.name, 3, bytes(32))
    only_witness = sign_note(cp.text(), [witness])
    with pytest.raises(NoteError, match=f"not signed by the log key {log.name}"):
        open_checkpoint(only_witness, log.verifier, [witness.verifier])
    other = make_log_signer("other-log.example")
    foreign = sign_note(Checkpoint(other.name, 3, bytes(32)).text(), [log])
    with pytest.raises(NoteError, match="origin 'other-log.example' is not the log's name"):
        open_checkpoint(foreign, log.verifier)


# --- no foreign exceptions ----------------------------------------------------------------------


@given(st.binary(max_size=300))
def test_open_note_raises_only_note_errors(data: bytes) -> None:
    with contextlib.suppress(NoteError):
        open_note(data, [PETER])


@given(st.text(max_size=200))
def test_open_note_on_signature_lines_raises_only_note_errors(tail: str) -> None:
    with contextlib.suppress(NoteError):
        open_note(TEXT + "\n— PeterNeumann " + tail + "\n", [PETER])


@given(st.text(max_size=120))
def test_parse_verifier_key_raises_only_note_errors(text: str) -> None:
    with contextlib.suppress(NoteError):
        parse_verifier_key(text)
    with contextlib.suppress(NoteError):
        parse_verifier_key("PeterNeumann+c74f20a3+" + text)


@given(st.text(max_size=200))
def test_checkpoint_parse_raises_only_note_errors(text: str) -> None:
    for candidate in (text, "o\n1\n" + text + "\n", text + "\n"):
        with contextlib.suppress(NoteError):
            Checkpoint.from_text(candidate)


def test_a_lone_surrogate_is_a_note_error_not_a_unicode_crash() -> None:
    """A note taken from JSON may be a str holding \\ud800, which has no UTF-8 form; the parser
    said so with a raw UnicodeEncodeError (found by test_parser_fuzz)."""
    with pytest.raises(NoteError, match="lone surrogate at character 0"):
        open_note("\ud800 origin\n1\n\n", [])


def test_a_key_name_with_a_lone_surrogate_is_a_malformed_key_not_a_crash() -> None:
    """Found by tests/protocol/test_parser_fuzz.py: a Python str may hold a lone surrogate,
    which is no UTF-8 text; hashing the name for the key id raised UnicodeEncodeError."""
    raw = bytes([0x01]) + bytes(32)  # Ed25519
    vkey = f"\ud800co-ledger+01020304+{base64.b64encode(raw).decode()}"
    with pytest.raises(NoteError, match="bad name or key id"):
        parse_verifier_key(vkey)
