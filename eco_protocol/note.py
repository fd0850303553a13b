"""C2SP signed notes and tlog checkpoints (docs/protocol.md §4).

Byte-for-byte the format of Go's ``golang.org/x/mod/sumdb/note`` (c2sp.org/signed-note) and
c2sp.org/tlog-checkpoint, so a third party can check our checkpoints with public tools:

* verifier key ``<name>+<8 hex key id>+<base64(0x01 ‖ Ed25519 public key)>`` with key id
  = SHA-256(name ‖ "\\n" ‖ 0x01 ‖ public key)[:4], big-endian;
* a note is its text (ending in ``\\n``), a blank line, then lines
  ``— <name> <base64(key id ‖ signature)>`` (U+2014 EM DASH, space), the signature being Ed25519
  over the text bytes.

Witness cosignatures follow c2sp.org/tlog-cosignature, "cosignature/v1" (Ed25519): the verifier key
carries signature type 0x04, key id = SHA-256(name ‖ "\\n" ‖ 0x04 ‖ public key)[:4], and the line's
bytes are key id ‖ uint64be(timestamp) ‖ Ed25519 signature over
``"cosignature/v1\\ntime <timestamp>\\n" ‖ note text``. :func:`open_note` checks both kinds; a
plain 0x01 witness key (docs/protocol.md §1's literal reading) is still accepted.
"""

from __future__ import annotations

import base64
import hashlib
import re
import struct
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature

from .errors import NoteError
from .keys import Ed25519PrivateKey, Ed25519PublicKey, public_key_from_raw, public_key_raw
from .messages import Msg

ALG_ED25519 = 0x01
ALG_COSIGNATURE_V1 = 0x04  # c2sp.org/tlog-cosignature: timestamped Ed25519 cosignature
SIG_PREFIX = "— "
MAX_SIGNATURES = 100
MAX_COSIGNATURE_TIME = 2**63 - 1  # tlog-cosignature: the timestamp MUST NOT exceed 2^63 - 1


def _valid_name(name: str) -> bool:
    """A key name as c2sp.org/signed-note allows it: non-empty UTF-8 text (a lone surrogate,
    which a Python ``str`` can hold, is none: it could not even be hashed for the key id),
    without "+" or spaces."""
    return bool(name) and "+" not in name and not any(
        c.isspace() or unicodedata.category(c) in ("Zs", "Cs") for c in name)


def key_id(name: str, encoded_key: bytes) -> int:
    """Key ID = first four bytes, big-endian, of SHA-256(name ‖ "\\n" ‖ alg ‖ key)."""
    digest = hashlib.sha256(name.encode("utf-8") + b"\n" + encoded_key).digest()
    return int(struct.unpack(">I", digest[:4])[0])


@dataclass(frozen=True, slots=True)
class NoteVerifier:
    """A named Ed25519 public key that checks note signatures."""

    name: str
    key_id: int
    public_key: Ed25519PublicKey

    @property
    def vkey(self) -> str:
        raw = bytes([ALG_ED25519]) + public_key_raw(self.public_key)
        return f"{self.name}+{self.key_id:08x}+{base64.b64encode(raw).decode('ascii')}"

    def verify(self, text: bytes, signature: bytes) -> bool:
        try:
            self.public_key.verify(signature, text)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True, slots=True)
class NoteSigner:
    """A named Ed25519 private key that signs notes (the log key, or a witness key)."""

    name: str
    private_key: Ed25519PrivateKey

    def __post_init__(self) -> None:
        if not _valid_name(self.name):
            raise NoteError(f"invalid signer name {self.name!r}: no spaces or '+' allowed")

    @property
    def verifier(self) -> NoteVerifier:
        raw = bytes([ALG_ED25519]) + public_key_raw(self.private_key)
        return NoteVerifier(self.name, key_id(self.name, raw), self.private_key.public_key())

    def sign(self, text: bytes) -> bytes:
        return self.private_key.sign(text)


def verifier_key(name: str, public: Ed25519PublicKey) -> str:
    """Encode a verifier key string for ``name`` and an Ed25519 public key."""
    if not _valid_name(name):
        raise NoteError(f"invalid key name {name!r}: no spaces or '+' allowed")
    raw = bytes([ALG_ED25519]) + public_key_raw(public)
    return f"{name}+{key_id(name, raw):08x}+{base64.b64encode(raw).decode('ascii')}"


def parse_verifier_key(vkey: str) -> NoteVerifier:
    """Parse ``<name>+<hash>+<key>`` the way ``note.NewVerifier`` does, refusing anything else."""
    name, kid, alg, public = _parse_vkey(vkey, (ALG_ED25519,),
                                         Msg("eco_protocol.finding.note.only_ed25519"))
    return NoteVerifier(name, kid, public)


def _parse_vkey(vkey: str, algs: tuple[int, ...],
                supported: Msg) -> tuple[str, int, int, Ed25519PublicKey]:
    """Split and check a verifier key whose signature type is one of ``algs``."""
    vkey = vkey.strip()
    parts = vkey.split("+", 2)  # the base64 key may itself contain "+"
    if len(parts) != 3:
        raise NoteError.coded("eco_protocol.finding.note.vkey_parts", vkey=vkey[:60])
    name, hash_hex, key_b64 = parts
    if not _valid_name(name) or not re.fullmatch(r"[0-9a-f]{8}", hash_hex):
        raise NoteError.coded("eco_protocol.finding.note.vkey_name", vkey=vkey[:60])
    try:
        raw = base64.b64decode(key_b64, validate=True)
    except ValueError as e:  # binascii.Error, or non-ASCII text
        raise NoteError.coded("eco_protocol.finding.note.vkey_base64", name=name) from e
    if not raw or raw[0] not in algs or len(raw) != 33:
        raise NoteError.coded("eco_protocol.finding.note.vkey_unknown_algorithm", name=name,
                              supported=supported)
    kid = key_id(name, raw)
    if kid != int(hash_hex, 16):
        raise NoteError.coded("eco_protocol.finding.note.vkey_id", name=name, kid=hash_hex)
    try:
        public = public_key_from_raw(raw[1:])
    except Exception as e:
        raise NoteError.coded("eco_protocol.finding.note.vkey_invalid", name=name) from e
    return name, kid, raw[0], public


# --- witness cosignatures (c2sp.org/tlog-cosignature, cosignature/v1) --------------------------


def cosignature_message(text: bytes, timestamp: int) -> bytes:
    """The bytes a cosignature/v1 signs: ``cosignature/v1\\ntime <t>\\n`` then the note text."""
    return b"cosignature/v1\ntime %d\n" % timestamp + text


@dataclass(frozen=True, slots=True)
class CosignatureVerifier:
    """A witness's named Ed25519 key checking cosignature/v1 lines (signature type 0x04)."""

    name: str
    key_id: int
    public_key: Ed25519PublicKey

    @property
    def vkey(self) -> str:
        raw = bytes([ALG_COSIGNATURE_V1]) + public_key_raw(self.public_key)
        return f"{self.name}+{self.key_id:08x}+{base64.b64encode(raw).decode('ascii')}"

    def verify(self, text: bytes, signature: bytes) -> bool:
        """``signature`` is the line's bytes after the key id: uint64be(time) ‖ Ed25519 sig."""
        if len(signature) != 8 + 64:
            return False
        timestamp = int.from_bytes(signature[:8], "big")
        if timestamp > MAX_COSIGNATURE_TIME:
            return False
        try:
            self.public_key.verify(signature[8:], cosignature_message(text, timestamp))
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True, slots=True)
class CosignatureSigner:
    """A witness's named Ed25519 private key producing cosignature/v1 lines."""

    name: str
    private_key: Ed25519PrivateKey

    def __post_init__(self) -> None:
        if not _valid_name(self.name):
            raise NoteError(f"invalid witness name {self.name!r}: no spaces or '+' allowed")

    @property
    def verifier(self) -> CosignatureVerifier:
        raw = bytes([ALG_COSIGNATURE_V1]) + public_key_raw(self.private_key)
        return CosignatureVerifier(self.name, key_id(self.name, raw),
                                   self.private_key.public_key())

    def cosign(self, text: str, timestamp: int) -> NoteSignature:
        """The cosignature/v1 signature line over note ``text`` at POSIX time ``timestamp``."""
        if not text.endswith("\n"):
            raise NoteError("note text must end with a newline")
        if not 0 <= timestamp <= MAX_COSIGNATURE_TIME:
            raise NoteError(f"cosignature timestamp {timestamp} is outside 0..2^63-1")
        kid = self.verifier.key_id
        sig = self.private_key.sign(cosignature_message(text.encode("utf-8"), timestamp))
        raw = struct.pack(">IQ", kid, timestamp) + sig
        return NoteSignature(self.name, kid, base64.b64encode(raw).decode("ascii"))


def cosignature_time(sig: NoteSignature) -> int:
    """The timestamp carried by a cosignature/v1 line (checked by :func:`open_note`)."""
    try:
        raw = base64.b64decode(sig.b64, validate=True)
    except ValueError as e:
        raise NoteError.coded("eco_protocol.finding.note.sig_base64", name=sig.name) from e
    if len(raw) != 4 + 8 + 64:
        raise NoteError.coded("eco_protocol.finding.note.sig_cosignature", name=sig.name)
    return int.from_bytes(raw[4:12], "big")


Verifier = NoteVerifier | CosignatureVerifier
"""Anything :func:`open_note` can check a signature line with."""


def parse_witness_key(vkey: str) -> Verifier:
    """A witness verifier key: cosignature/v1 (type 0x04, what ``eco-aggregator witness`` uses)
    or a plain Ed25519 note key (type 0x01)."""
    name, kid, alg, public = _parse_vkey(
        vkey, (ALG_COSIGNATURE_V1, ALG_ED25519),
        Msg("eco_protocol.finding.note.witness_algs"))
    if alg == ALG_COSIGNATURE_V1:
        return CosignatureVerifier(name, kid, public)
    return NoteVerifier(name, kid, public)


@dataclass(frozen=True, slots=True)
class NoteSignature:
    name: str
    key_id: int
    b64: str

    @property
    def line(self) -> str:
        return f"{SIG_PREFIX}{self.name} {self.b64}\n"


@dataclass(frozen=True, slots=True)
class Note:
    """An opened note: its text, the signatures that verified, and those from unknown keys."""

    text: str
    sigs: tuple[NoteSignature, ...]
    unverified: tuple[NoteSignature, ...]

    def signed_by(self, name: str) -> bool:
        return any(s.name == name for s in self.sigs)


def sign_note(text: str, signers: Sequence[NoteSigner],
              existing: Iterable[NoteSignature] = ()) -> str:
    """Sign ``text`` (which must end in a newline); keep existing signatures of other keys."""
    if not text.endswith("\n"):
        raise NoteError("note text must end with a newline")
    body = text.encode("utf-8")
    have = {(s.name, s.verifier.key_id) for s in signers}
    out = [text, "\n"]
    for sig in existing:
        if (sig.name, sig.key_id) not in have:
            out.append(sig.line)
    for s in signers:
        v = s.verifier
        raw = struct.pack(">I", v.key_id) + s.sign(body)
        out.append(f"{SIG_PREFIX}{s.name} {base64.b64encode(raw).decode('ascii')}\n")
    return "".join(out)


def open_note(msg: str | bytes, known: Iterable[Verifier]) -> Note:
    """Parse and check a signed note exactly like ``note.Open``.

    Signatures by unknown keys are kept in ``unverified``; a known key whose signature fails is an
    error (never silently dropped); a note with no verified signature is an error.
    """
    try:
        # a str from JSON may hold a lone surrogate (\ud800), which has no UTF-8 form
        data = msg.encode("utf-8") if isinstance(msg, str) else msg
    except UnicodeEncodeError as e:
        raise NoteError.coded("eco_protocol.finding.note.surrogate", at=e.start) from e
    try:
        s = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise NoteError.coded("eco_protocol.finding.note.not_utf8", at=e.start) from e
    if any(ord(c) < 0x20 and c != "\n" for c in s):
        raise NoteError.coded("eco_protocol.finding.note.control")
    split = s.rfind("\n\n")
    if split < 0:
        raise NoteError.coded("eco_protocol.finding.note.no_blank")
    text, sig_block = s[: split + 1], s[split + 2:]
    if not sig_block or not sig_block.endswith("\n"):
        raise NoteError.coded("eco_protocol.finding.note.sig_newline")
    verifiers = {(v.name, v.key_id): v for v in known}
    sigs: list[NoteSignature] = []
    unverified: list[NoteSignature] = []
    seen: set[tuple[str, int]] = set()
    seen_unverified: set[str] = set()
    lines = sig_block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError.coded("eco_protocol.finding.note.too_many_sigs", n=MAX_SIGNATURES)
    for n, line in enumerate(lines, 1):
        if not line.startswith(SIG_PREFIX):
            raise NoteError.coded("eco_protocol.finding.note.sig_dash", n=n)
        name, _, b64 = line[len(SIG_PREFIX):].partition(" ")
        try:
            raw = base64.b64decode(b64, validate=True)
        except ValueError as e:  # binascii.Error, or non-ASCII text
            raise NoteError.coded("eco_protocol.finding.note.sig_line_base64", n=n) from e
        if not _valid_name(name) or not b64 or len(raw) < 5:
            raise NoteError.coded("eco_protocol.finding.note.sig_line", n=n)
        kid = int(struct.unpack(">I", raw[:4])[0])
        sig = NoteSignature(name, kid, b64)
        v = verifiers.get((name, kid))
        if v is None:
            if line not in seen_unverified:
                seen_unverified.add(line)
                unverified.append(sig)
            continue
        if (name, kid) in seen:
            continue
        seen.add((name, kid))
        if not v.verify(text.encode("utf-8"), raw[4:]):
            raise NoteError.coded("eco_protocol.finding.note.bad_signature", name=name,
                                  kid=f"{kid:08x}")
        sigs.append(sig)
    if not sigs:
        names = sorted({s.name for s in unverified}) or Msg("eco_protocol.finding.note.none")
        raise NoteError.coded("eco_protocol.finding.note.no_known_signature", names=names)
    return Note(text, tuple(sigs), tuple(unverified))


# --- checkpoints (c2sp.org/tlog-checkpoint) -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """``<origin>\\n<size>\\n<base64 root>\\n[extension lines]``."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.origin or "\n" in self.origin:
            raise NoteError.coded("eco_protocol.finding.note.cp_origin")
        if self.size < 0 or len(self.root_hash) != 32:
            raise NoteError.coded("eco_protocol.finding.note.cp_size_root")

    def text(self) -> str:
        root = base64.b64encode(self.root_hash).decode("ascii")
        ext = "".join(f"{e}\n" for e in self.extensions)
        return f"{self.origin}\n{self.size}\n{root}\n{ext}"

    @classmethod
    def from_text(cls, text: str) -> Checkpoint:
        if not text.endswith("\n"):
            raise NoteError.coded("eco_protocol.finding.note.cp_newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise NoteError.coded("eco_protocol.finding.note.cp_lines")
        origin, size_s, root_s, *ext = lines
        if not re.fullmatch(r"0|[1-9][0-9]{0,19}", size_s):
            raise NoteError.coded("eco_protocol.finding.note.cp_size", size=size_s)
        try:
            root = base64.b64decode(root_s, validate=True)
        except ValueError as e:  # binascii.Error, or non-ASCII text
            raise NoteError.coded("eco_protocol.finding.note.cp_root") from e
        if any(not e for e in ext):
            raise NoteError.coded("eco_protocol.finding.note.cp_extension")
        return cls(origin, int(size_s), root, tuple(ext))


def open_checkpoint(msg: str | bytes, log: NoteVerifier,
                    witnesses: Iterable[Verifier] = ()) -> tuple[Checkpoint, Note]:
    """Open a checkpoint note: it must carry a valid signature by the log key, and its origin
    must be the log key's name (so a note from another log cannot be passed off as ours).
    Witness lines are checked with ``witnesses``: cosignature/v1 (c2sp.org/tlog-cosignature)
    for :class:`CosignatureVerifier` keys, plain note signatures for :class:`NoteVerifier` keys."""
    note = open_note(msg, [log, *witnesses])
    if not any(s.name == log.name and s.key_id == log.key_id for s in note.sigs):
        raise NoteError.coded("eco_protocol.finding.note.not_log_signed", name=log.name,
                              kid=f"{log.key_id:08x}")
    cp = Checkpoint.from_text(note.text)
    if cp.origin != log.name:
        raise NoteError.coded("eco_protocol.finding.note.wrong_origin", origin=cp.origin,
                              name=log.name)
    return cp, note
