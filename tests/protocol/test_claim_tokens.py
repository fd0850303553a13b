"""Claim tokens (issue 18 point 4): each normalisation rule makes trivial variations of one
identity collide; different identities, kinds and secrets never do; the wire form is strict."""

from __future__ import annotations

import pytest

from eco_protocol.claim_tokens import (
    ClaimSecret,
    ClaimToken,
    ClaimTokenError,
    Equipment,
    EquipmentKind,
    claim_token,
    claim_tokens,
    lookup_tokens,
    parse_equipment,
    parse_secrets,
    parse_token_list,
)
from eco_protocol.errors import MalformedRecord

SECRET = ClaimSecret(bytes(range(32)))
OTHER = ClaimSecret(bytes(range(1, 33)))
SP = "0312345678901234567890"


def _tok(text: str, secret: ClaimSecret = SECRET) -> str:
    return claim_token(secret, parse_equipment(text)).token


@pytest.mark.parametrize(("variant", "rule"), [
    ("inverter=sma:3001234567", "case of the manufacturer"),
    ("inverter= SMA : 3001234567 ", "whitespace around the parts"),
    ("inverter=SMA:3001 2345 67", "whitespace inside the serial"),
    ("inverter=ＳＭＡ:３００１２３４５６７", "full-width letters and digits (NFKC)"),
    ("inverter=SMA:3001-234-567", "ASCII hyphens"),
    ("inverter=SMA:3001\u2010234\u2212567", "Unicode hyphen and minus"),
    ("inverter=SMA:3001ー234567", "katakana long vowel mark typed as a dash"),
    ("inverter=SMA:003001234567", "leading zeros of an all-digit serial"),
    ("inverter=SMA:3001234567\x00\x00\x00", "SunSpec NUL padding"),
    ("INVERTER=SMA:3001234567", "case of the kind"),
])
def test_inverter_variations_collide(variant: str, rule: str) -> None:
    assert _tok(variant) == _tok("inverter=SMA:3001234567"), rule


def test_letters_in_serial_are_folded_but_zeros_kept() -> None:
    assert _tok("inverter=Omron:ab-0012") == _tok("inverter=OMRON:AB0012")
    assert _tok("inverter=Omron:0AB12") != _tok("inverter=Omron:AB12")


@pytest.mark.parametrize("variant", [
    "supply-point=03 1234 5678 9012 3456 7890",
    "supply_point=03-1234-5678-9012-3456-7890",
    "supply-point=０３１２３４５６７８９０１２３４５６７８９０",
])
def test_supply_point_variations_collide(variant: str) -> None:
    assert _tok(variant) == _tok(f"supply-point={SP}")


def test_supply_point_keeps_its_leading_zeros_and_length() -> None:
    with pytest.raises(ClaimTokenError, match="22 digits"):
        parse_equipment("supply-point=312345678901234567890")
    with pytest.raises(ClaimTokenError, match="22 digits"):
        parse_equipment("supply-point=03123456789012345678AB")


def test_vin_and_charger() -> None:
    assert _tok("vin=jh4 ka7561-pc008269") == _tok("vin=JH4KA7561PC008269")
    with pytest.raises(ClaimTokenError, match="no I, O or Q"):
        parse_equipment("vin=JH4KA7561PC00826O")
    assert _tok("ev-charger=openevse:0042") == _tok("ev_charger=OpenEVSE:42")


def test_no_collision_across_kinds_identities_or_secrets() -> None:
    same = "3001234567"
    tokens = {_tok(f"inverter=X:{same}"), _tok(f"ev-charger=X:{same}"),
              _tok("inverter=Y:3001234567"), _tok("inverter=X:3001234568"),
              _tok(f"inverter=X:{same}", OTHER), _tok(f"supply-point={SP}"),
              _tok("vin=JH4KA7561PC008269")}
    assert len(tokens) == 7
    # manufacturer and serial are separated, so moving characters between them changes it
    assert _tok("inverter=AB:C1") != _tok("inverter=A:BC1")


def test_token_is_hmac_under_the_secret_and_names_its_key() -> None:
    t = claim_token(SECRET, parse_equipment("vin=JH4KA7561PC008269"))
    assert t.kind is EquipmentKind.VIN and len(t.token) == 64 and t.key_id == SECRET.key_id
    assert SECRET.key_id != OTHER.key_id and "JH4" not in repr(t)
    assert repr(SECRET) == f"ClaimSecret(key_id={SECRET.key_id!r})"  # never the secret


@pytest.mark.parametrize("text", ["inverter=SMA", "inverter=:123", "meter=1", "vin",
                                  "inverter=SMA:---", "ev-charger=OpenEVSE"])
def test_bad_equipment_is_refused(text: str) -> None:
    with pytest.raises(ClaimTokenError):
        parse_equipment(text)


def test_wire_list_is_strict_and_canonical() -> None:
    eqs = [parse_equipment("inverter=SMA:1"), parse_equipment(f"supply-point={SP}")]
    tokens = claim_tokens(SECRET, eqs)
    wire = [t.to_dict() for t in tokens]
    assert parse_token_list(wire, "enrol.claim_tokens") == tokens
    with pytest.raises(ClaimTokenError, match="sorted and unique"):
        parse_token_list(list(reversed(wire)), "enrol.claim_tokens")
    with pytest.raises(ClaimTokenError, match="sorted and unique"):
        parse_token_list([wire[0], wire[0]], "enrol.claim_tokens")
    with pytest.raises(ClaimTokenError, match="1–32"):
        parse_token_list([], "enrol.claim_tokens")
    with pytest.raises(ClaimTokenError, match="kind"):
        ClaimToken.from_dict({**wire[0], "kind": "meter"})
    with pytest.raises(MalformedRecord, match="unknown field"):
        ClaimToken.from_dict({**wire[0], "extra": 1})


def test_secret_file_and_lookup_under_every_secret() -> None:
    text = f"# current\n{SECRET.secret.hex()}\n\n{OTHER.secret.hex()}  # retired 2026-04\n"
    secrets = parse_secrets(text, "claim.key")
    assert secrets == (SECRET, OTHER)
    eq = parse_equipment("inverter=SMA:1")
    found = lookup_tokens(secrets, [eq])
    assert {t.key_id for t in found} == {SECRET.key_id, OTHER.key_id}
    assert set(found.values()) == {eq}
    with pytest.raises(ClaimTokenError, match="64 hex"):
        parse_secrets("abcd\n", "claim.key")
    with pytest.raises(ClaimTokenError, match="no claim-token secret"):
        parse_secrets("# nothing\n", "claim.key")


def test_equipment_describes_itself() -> None:
    assert Equipment(EquipmentKind.INVERTER, ("SMA", "1")).describe() == "inverter SMA:1"
