"""``consortium.toml``: who the members of a consortium of logs are, and whose cosignatures count.

A consortium (issue 18) is several municipalities each running one log, every member holding a
mirror of every other member's log and witnessing it, plus a verification body that witnesses
them all. The file is distributed out of band (like a log key) and every tool that verifies
takes it: ``eco-verify --consortium``, ``eco-aggregator mirror`` and ``consortium-witness``.
The format is documented with a commented example in docs/consortium.md.

The witness policy follows C2SP tlog-policy in spirit: witnesses are *named* keys, a quorum is
"k of these named witnesses", and a checkpoint counts as published only once the quorum has
cosigned it (the decision is :mod:`eco_protocol.witness_policy`). Where it differs: TOML instead
of tlog-policy's line format (the rest of the project's configuration is TOML), one quorum for
the whole consortium instead of nested groups, and a member's own witness never counts for its
own log (a log cannot vouch for itself), so the "n" of a log is the policy's witnesses minus its
own member's.

Pure: :func:`parse_consortium` takes the file's text; reading it is the caller's business. Every
error names the key (``members[1].log_key``) and says what to do.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import MalformedRecord, NoteError
from .keys import public_key_raw
from .note import NoteVerifier, Verifier, parse_verifier_key, parse_witness_key
from .os_messages import toml_error

CONSORTIUM_KEYS = frozenset({"name", "members", "witnesses", "policy", "claim_token_key_ids"})
MEMBER_KEYS = frozenset({"name", "origin", "log_key", "url", "witness"})
WITNESS_KEYS = frozenset({"name", "key", "url"})
POLICY_KEYS = frozenset({"quorum", "witnesses"})


class ConsortiumError(MalformedRecord):
    """``consortium.toml`` is malformed; the message names the file and the key."""


@dataclass(frozen=True, slots=True)
class Member:
    """One municipality's log: ``origin`` is the log key's name (the checkpoint's first line),
    ``url`` its public read API, ``witness`` the name of the member's own witness, if any."""

    name: str
    origin: str
    log_key: NoteVerifier
    url: str
    witness: str | None = None


@dataclass(frozen=True, slots=True)
class Witness:
    """A named witness key (cosignature/v1, or a plain Ed25519 note key)."""

    name: str
    key: Verifier
    url: str | None = None


@dataclass(frozen=True, slots=True)
class WitnessPolicy:
    """``quorum`` of the named ``witnesses`` must cosign a member's checkpoint (the member's own
    witness not counted for its own log)."""

    quorum: int
    witnesses: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Consortium:
    name: str
    members: tuple[Member, ...]
    witnesses: tuple[Witness, ...]
    policy: WitnessPolicy
    # the key ids of the consortium's claim-token secrets (current and retired), when the file
    # names them: a credited token under any other secret is one no other member can match
    token_key_ids: tuple[str, ...] = ()

    def member(self, name: str) -> Member:
        for m in self.members:
            if m.name == name:
                return m
        raise ConsortiumError.coded("eco_protocol.consortium.no_member", name=name,
                                    consortium=self.name,
                                    members=", ".join(m.name for m in self.members))

    def member_for_origin(self, origin: str) -> Member | None:
        return next((m for m in self.members if m.origin == origin), None)

    def witness(self, name: str) -> Witness:
        return next(w for w in self.witnesses if w.name == name)

    def witnesses_for(self, member: Member) -> tuple[Witness, ...]:
        """The policy's named witnesses whose cosignatures count for ``member``'s log."""
        return tuple(self.witness(n) for n in self.policy.witnesses if n != member.witness)

    def others(self, name: str) -> tuple[Member, ...]:
        """Every member but ``name`` (which must be a member): the logs ``name`` mirrors."""
        self.member(name)
        return tuple(m for m in self.members if m.name != name)


def parse_consortium(text: str, where: str = "consortium.toml") -> Consortium:
    """Parse and check the whole file; raise :class:`ConsortiumError` naming the key."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConsortiumError.coded("eco_protocol.consortium.not_toml", where=where,
                                    error=toml_error(e)) from e
    _no_unknown(doc, CONSORTIUM_KEYS, where, "")
    name = _text(doc, "name", where, "", default="consortium")
    witnesses = _witnesses(doc.get("witnesses"), where)
    members = _members(doc.get("members"), where, {w.name for w in witnesses})
    _distinct_keys(witnesses, members, where)
    policy = _policy(doc.get("policy"), where, witnesses, members)
    return Consortium(name, members, witnesses, policy, _key_ids(doc, where))


def _key_ids(doc: Mapping[str, Any], where: str) -> tuple[str, ...]:
    """``claim_token_key_ids``: optional, a list of 16-hex-digit key ids (``eco-aggregator``
    prints a secret's key id; it reveals nothing of the secret)."""
    value = doc.get("claim_token_key_ids", [])
    if not isinstance(value, list) or not all(
            isinstance(k, str) and len(k) == 16 and all(c in "0123456789abcdef" for c in k)
            for k in value):
        raise ConsortiumError.coded("eco_protocol.consortium.key_ids", where=where)
    return tuple(value)


def _distinct_keys(witnesses: tuple[Witness, ...], members: tuple[Member, ...],
                   where: str) -> None:
    """Each witness and each member log its own key: one key under two names would let one
    key-holder count as two witnesses toward the quorum (or as two towns), and a member's log
    key as a witness would let that log cosign its own checkpoints (a log cannot vouch for
    itself)."""
    logs: dict[bytes, str] = {}
    for i, m in enumerate(members):  # one key-holder signing as two towns
        raw = public_key_raw(m.log_key.public_key)
        if raw in logs:
            raise ConsortiumError.coded("eco_protocol.consortium.same_log_key", where=where,
                                        at=f"members[{i}]", other=logs[raw])
        logs[raw] = m.name
    seen: dict[bytes, str] = {}
    for i, w in enumerate(witnesses):
        raw = public_key_raw(w.key.public_key)
        if raw in logs:
            raise ConsortiumError.coded("eco_protocol.consortium.log_key_witness", where=where,
                                        at=f"witnesses[{i}]", member=logs[raw])
        if raw in seen:
            raise ConsortiumError.coded("eco_protocol.consortium.same_key", where=where,
                                        at=f"witnesses[{i}]", other=seen[raw])
        seen[raw] = w.name


# --- sections ----------------------------------------------------------------------------------


def _tables(value: object, where: str, key: str, what: str) -> list[Mapping[str, Any]]:
    if value is None:
        raise ConsortiumError.coded(f"eco_protocol.consortium.missing_{key}", where=where)
    if not isinstance(value, list) or not value or \
            not all(isinstance(t, dict) for t in value):
        raise ConsortiumError.coded("eco_protocol.consortium.not_tables", where=where, key=key)
    return value


def _witnesses(value: object, where: str) -> tuple[Witness, ...]:
    out: list[Witness] = []
    for i, t in enumerate(_tables(value, where, "witnesses", "witness")):
        at = f"witnesses[{i}]"
        _no_unknown(t, WITNESS_KEYS, where, at)
        name = _text(t, "name", where, at)
        vkey = _text(t, "key", where, at)
        try:
            key = parse_witness_key(vkey)
        except NoteError as e:
            raise ConsortiumError.coded("eco_protocol.consortium.bad_key", where=where,
                                        key=f"{at}.key", error=e) from e
        if key.name != name:
            raise ConsortiumError.coded("eco_protocol.consortium.witness_name", where=where,
                                        at=at, name=name, key_name=key.name)
        if any(w.name == name for w in out):
            raise ConsortiumError.coded("eco_protocol.consortium.listed_twice", where=where,
                                        at=at, name=name)
        out.append(Witness(name, key, _url(t, where, at, required=False)))
    return tuple(out)


def _members(value: object, where: str, witness_names: set[str]) -> tuple[Member, ...]:
    out: list[Member] = []
    for i, t in enumerate(_tables(value, where, "members", "member log")):
        at = f"members[{i}]"
        _no_unknown(t, MEMBER_KEYS, where, at)
        name = _text(t, "name", where, at)
        try:
            log_key = parse_verifier_key(_text(t, "log_key", where, at))
        except NoteError as e:
            raise ConsortiumError.coded("eco_protocol.consortium.bad_key", where=where,
                                        key=f"{at}.log_key", error=e) from e
        origin = _text(t, "origin", where, at, default=log_key.name)
        if origin != log_key.name:
            raise ConsortiumError.coded("eco_protocol.consortium.origin", where=where, at=at,
                                        origin=origin, key_name=log_key.name)
        witness = t.get("witness")
        if witness is not None and (not isinstance(witness, str) or
                                    witness not in witness_names):
            raise ConsortiumError.coded("eco_protocol.consortium.member_witness", where=where,
                                        at=at, witness=witness)
        for other in out:
            for key, mine, theirs in (("name", name, other.name),
                                      ("origin", origin, other.origin)):
                if mine == theirs:
                    raise ConsortiumError.coded("eco_protocol.consortium.duplicate",
                                                where=where, at=at, key=key, value=mine,
                                                other=other.name)
        url = _url(t, where, at, required=True)
        assert url is not None
        out.append(Member(name, origin, log_key, url, witness))
    return tuple(out)


def _policy(value: object, where: str, witnesses: tuple[Witness, ...],
            members: tuple[Member, ...]) -> WitnessPolicy:
    if not isinstance(value, dict):
        raise ConsortiumError.coded("eco_protocol.consortium.no_policy", where=where)
    _no_unknown(value, POLICY_KEYS, where, "policy")
    known = [w.name for w in witnesses]
    named = value.get("witnesses", known)
    if not isinstance(named, list) or not named or not all(isinstance(n, str) for n in named):
        raise ConsortiumError.coded("eco_protocol.consortium.policy_witnesses", where=where)
    for n in named:
        if n not in known:
            raise ConsortiumError.coded("eco_protocol.consortium.policy_unknown", where=where,
                                        name=n, known=", ".join(known))
    if len(set(named)) != len(named):
        raise ConsortiumError.coded("eco_protocol.consortium.policy_twice", where=where)
    quorum = _quorum(value.get("quorum"), where, len(named))
    for m in members:
        n = sum(1 for w in named if w != m.witness)
        if quorum > n:
            raise ConsortiumError.coded("eco_protocol.consortium.unreachable", where=where,
                                        quorum=quorum, member=m.name, n=n)
    return WitnessPolicy(quorum, tuple(named))


def _quorum(value: object, where: str, n: int) -> int:
    """``quorum``: an integer 1..n, or tlog-policy's ``"any"`` (1). tlog-policy's ``"all"`` is
    left out: with a member's own witness not counting for its own log, "all" would mean a
    different number per log; write the number."""
    if value == "any":
        return 1
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= n:
        return value
    raise ConsortiumError.coded("eco_protocol.consortium.quorum", where=where, n=n,
                                value=repr(value))


# --- values -----------------------------------------------------------------------------------


def _no_unknown(t: Mapping[str, Any], allowed: frozenset[str], where: str, at: str) -> None:
    for k in t:
        if k not in allowed:
            key = f"{at}.{k}" if at else k
            raise ConsortiumError.coded("eco_protocol.consortium.unknown_key", where=where,
                                        key=key, allowed=", ".join(sorted(allowed)))


def _text(t: Mapping[str, Any], key: str, where: str, at: str,
          default: str | None = None) -> str:
    value = t.get(key, default)
    full = f"{at}.{key}" if at else key
    if value is None:
        raise ConsortiumError.coded("eco_protocol.consortium.missing", where=where, key=full)
    if not isinstance(value, str) or not value.strip():
        raise ConsortiumError.coded("eco_protocol.consortium.not_text", where=where, key=full)
    return value.strip()


def _url(t: Mapping[str, Any], where: str, at: str, required: bool) -> str | None:
    if t.get("url") is None and not required:
        return None
    url = _text(t, "url", where, at)
    if not url.startswith(("http://", "https://")):
        raise ConsortiumError.coded("eco_protocol.consortium.url", where=where, at=at, url=url)
    return url.rstrip("/")


__all__ = ["Consortium", "ConsortiumError", "Member", "Witness", "WitnessPolicy",
           "parse_consortium"]
