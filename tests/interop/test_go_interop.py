"""Interop with Go's reference packages golang.org/x/mod/sumdb/note and sumdb/tlog.

docs/protocol.md promises that checkpoints and proofs are exactly what those packages produce and
verify. ``tests/interop/go/verify`` is a small Go program over them (stdlib + x/mod only); it is
built once per session, offline, in GOPATH mode against Debian's golang-golang-x-mod-dev sources.
If the ``go`` binary or those sources are absent the tests fail: run ``make deps``.
"""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from eco_protocol.errors import ProofError
from eco_protocol.keys import private_key_raw
from eco_protocol.merkle import MemoryTree, leaf_hash, verify_consistency, verify_inclusion
from eco_protocol.note import (
    Checkpoint,
    NoteSigner,
    open_checkpoint,
    open_note,
    parse_verifier_key,
    sign_note,
)
from tests.protocol.records_kit import (
    entries_jsonl,
    fixed_key,
    make_checkpoint,
    make_evidence_dir,
    make_log,
    make_log_signer,
    make_witness_signer,
    write_evidence_dir,
)
from tests.support.go_kit import build_go_verify

pytestmark = pytest.mark.interop

VECTORS = Path(__file__).parent.parent / "vectors"


@pytest.fixture(scope="session")
def go_verify(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Path of the built Go checker (fails if Go or the x/mod sources are missing)."""
    return build_go_verify(tmp_path_factory.mktemp("go-verify"))


def _go(binary: Path, *args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([str(binary), *args], input=stdin, capture_output=True, timeout=120)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _skey_of(signer: NoteSigner) -> str:
    """The sumdb/note private key string: PRIVATE+KEY+name+keyid+base64(0x01 ‖ seed)."""
    raw = bytes([1]) + private_key_raw(signer.private_key)
    return f"PRIVATE+KEY+{signer.name}+{signer.verifier.key_id:08x}+{_b64(raw)}"


def _plus_signer() -> NoteSigner:
    """A log key whose verifier key's base64 part contains '+' (as half of all keys do)."""
    for i in range(100):
        s = NoteSigner("eco-ledger.example-city.lg.jp", fixed_key(f"plus/{i}"))
        if "+" in s.verifier.vkey.split("+", 2)[2]:
            return s
    raise AssertionError("no key with '+' in 100 tries")


# --- notes and checkpoints ----------------------------------------------------------------------


@pytest.mark.parametrize("signer", [make_log_signer(), _plus_signer()],
                         ids=["log-key", "vkey-with-plus"])
def test_our_checkpoint_verifies_with_go(go_verify: Path, signer: NoteSigner) -> None:
    witness = make_witness_signer("witness.example-town.lg.jp")
    entries = make_log(signer, devices=2, readings_per_device=2)
    note = make_checkpoint(entries, signer, witnesses=[witness])
    for vkey in (signer.verifier.vkey, witness.verifier.vkey):
        res = _go(go_verify, "verify-note", vkey, stdin=note.encode())
        assert res.returncode == 0, res.stderr.decode()
        assert res.stdout.decode() == Checkpoint.from_text(res.stdout.decode()).text()
        assert res.stdout.decode() == note.split("\n\n")[0] + "\n"


def test_go_refuses_our_tampered_checkpoint(go_verify: Path) -> None:
    log = make_log_signer()
    entries = make_log(log, devices=1, readings_per_device=3)
    note = make_checkpoint(entries, log)
    tampered = note.replace(f"\n{len(entries)}\n", f"\n{len(entries) + 1}\n", 1)
    assert tampered != note
    res = _go(go_verify, "verify-note", log.verifier.vkey, stdin=tampered.encode())
    assert res.returncode == 1
    assert b"invalid signature for key" in res.stderr
    impostor = make_log_signer(label="impostor")
    res = _go(go_verify, "verify-note", log.verifier.vkey,
             stdin=make_checkpoint(entries, impostor).encode())
    assert res.returncode == 1
    assert b"no verifiable signatures" in res.stderr


@pytest.mark.parametrize("signer", [make_log_signer(), _plus_signer()],
                         ids=["log-key", "vkey-with-plus"])
def test_go_signed_note_opens_with_ours_and_is_byte_identical(go_verify: Path,
                                                              signer: NoteSigner) -> None:
    cp = Checkpoint(signer.name, 42, leaf_hash(b"root"))
    res = _go(go_verify, "sign-note", _skey_of(signer), stdin=cp.text().encode())
    assert res.returncode == 0, res.stderr.decode()
    go_note = res.stdout.decode()
    opened, note = open_checkpoint(go_note, signer.verifier)
    assert opened == cp
    assert note.sigs[0].key_id == signer.verifier.key_id
    assert go_note == sign_note(cp.text(), [signer])  # Ed25519 is deterministic


def test_go_signs_the_sumdb_example_like_we_do(go_verify: Path) -> None:
    v = json.loads((VECTORS / "sumdb_note.json").read_text("utf-8"))
    res = _go(go_verify, "sign-note", v["peter"]["skey"], stdin=v["text"].encode())
    assert res.returncode == 0, res.stderr.decode()
    assert res.stdout.decode() == v["signed_by_peter"]
    assert open_note(res.stdout, [parse_verifier_key(v["peter"]["vkey"])]).text == v["text"]
    res = _go(go_verify, "verify-note", v["peter"]["vkey"],
             stdin=v["signed_by_peter_and_enoch"].encode())
    assert res.returncode == 0 and res.stdout.decode() == v["text"]


# --- evidence directories -----------------------------------------------------------------------


@pytest.mark.parametrize(("devices", "readings"), [(1, 0), (1, 1), (2, 3), (3, 10), (5, 12)])
def test_go_recomputes_the_root_of_our_evidence(go_verify: Path, tmp_path: Path, devices: int,
                                                readings: int) -> None:
    ev = make_evidence_dir(tmp_path, devices=devices, readings_per_device=readings)
    res = _go(go_verify, "check-evidence", str(ev.path))
    assert res.returncode == 0, res.stderr.decode()
    root = MemoryTree(leaf_hash(e) for e in ev.entries).root()
    assert res.stdout.decode().strip() == (
        f"ok {ev.log_signer.name} size {len(ev.entries)} root {_b64(root)}")


def test_go_checks_an_empty_log(go_verify: Path, tmp_path: Path) -> None:
    ev = make_evidence_dir(tmp_path, entries=[])
    res = _go(go_verify, "check-evidence", str(ev.path))
    assert res.returncode == 0, res.stderr.decode()


def test_go_refuses_tampered_evidence(go_verify: Path, tmp_path: Path) -> None:
    log = make_log_signer()
    entries = make_log(log, devices=2, readings_per_device=4)
    ev = write_evidence_dir(tmp_path / "a", entries, log)
    altered = list(entries)
    altered[5] = altered[5].replace(b'"energy_wh":500', b'"energy_wh":501')
    assert altered[5] != entries[5]
    ev.entries_path.write_text(entries_jsonl(altered), "utf-8")
    res = _go(go_verify, "check-evidence", str(ev.path))
    assert res.returncode == 1
    assert b"the checkpoint says" in res.stderr
    # one entry too few
    ev.entries_path.write_text(entries_jsonl(entries[:-1]), "utf-8")
    res = _go(go_verify, "check-evidence", str(ev.path))
    assert res.returncode == 1
    assert f"has {len(entries) - 1} entries".encode() in res.stderr
    # a checkpoint not signed by the key in log.vkey
    ev2 = write_evidence_dir(tmp_path / "b", entries, log,
                             checkpoint=make_checkpoint(entries, make_log_signer(label="x")))
    res = _go(go_verify, "check-evidence", str(ev2.path))
    assert res.returncode == 1
    assert b"checkpoint:" in res.stderr


# --- proofs -------------------------------------------------------------------------------------

MAX = 70
DATA = [b"entry-%d" % i for i in range(MAX)]
TREE = MemoryTree(leaf_hash(d) for d in DATA)


def _run_cases(binary: Path, command: str, cases: Sequence[dict[str, Any]]) -> list[bool]:
    res = _go(binary, command, stdin=json.dumps(list(cases)).encode())
    assert res.returncode in (0, 1), res.stderr.decode()
    results = json.loads(res.stdout)
    assert len(results) == len(cases)
    assert (res.returncode == 0) == all(r["ok"] for r in results)
    return [bool(r["ok"]) for r in results]


def _inclusion_case(index: int, size: int, proof: Sequence[bytes], root: bytes,
                   leaf: bytes | None = None, entry: bytes | None = None) -> dict[str, Any]:
    case: dict[str, Any] = {"index": index, "size": size, "root": _b64(root),
                            "proof": [_b64(p) for p in proof]}
    if entry is not None:
        case["entry"] = _b64(entry)
    else:
        case["leaf_hash"] = _b64(leaf if leaf is not None else leaf_hash(DATA[index]))
    return case


def test_our_inclusion_proofs_verify_with_go_for_every_size_up_to_70(go_verify: Path) -> None:
    cases = []
    for size in range(1, MAX + 1):
        root = TREE.root(size)
        for index in range(size):
            proof = TREE.inclusion_proof(index, size)
            cases.append(_inclusion_case(index, size, proof, root))
            cases.append(_inclusion_case(index, size, proof, root, entry=DATA[index]))
    assert all(_run_cases(go_verify, "check-inclusion", cases))


def test_our_consistency_proofs_verify_with_go_for_every_size_up_to_70(go_verify: Path) -> None:
    cases = []
    for new in range(1, MAX + 1):
        for old in range(1, new + 1):
            cases.append({"old_size": old, "new_size": new, "old_root": _b64(TREE.root(old)),
                          "new_root": _b64(TREE.root(new)),
                          "proof": [_b64(p) for p in TREE.consistency_proof(old, new)]})
    assert all(_run_cases(go_verify, "check-consistency", cases))


def _flip(h: bytes, bit: int) -> bytes:
    b = bytearray(h)
    b[bit // 8] ^= 1 << (bit % 8)
    return bytes(b)


def test_tampered_inclusion_proofs_fail_in_go_and_in_python(go_verify: Path) -> None:
    cases: list[tuple[int, int, list[bytes], bytes, bytes | None]] = []
    for size in (2, 3, 5, 8, 13, 31, 64, 70):
        root = TREE.root(size)
        for index in sorted({0, size // 2, size - 1}):
            proof = TREE.inclusion_proof(index, size)
            for i in range(len(proof)):
                bad = list(proof)
                bad[i] = _flip(bad[i], (7 * i + index) % 256)
                cases.append((index, size, bad, root, None))
            cases.append((index, size, proof[:-1], root, None))
            cases.append((index, size, [*proof, root], root, None))
            cases.append(((index + 1) % size, size, proof, root, None))
            cases.append((index, size, proof, _flip(root, 0), None))
            cases.append((index, size, proof, root, leaf_hash(DATA[index] + b"x")))
            if size < MAX:
                cases.append((index, size + 1, proof, TREE.root(size + 1), None))
    go_cases = [_inclusion_case(i, s, p, r, leaf) for i, s, p, r, leaf in cases]
    assert _run_cases(go_verify, "check-inclusion", go_cases) == [False] * len(cases)
    for i, s, p, r, leaf in cases:
        with pytest.raises(ProofError):
            verify_inclusion(i, s, leaf or leaf_hash(DATA[i]), p, r)


def test_tampered_consistency_proofs_fail_in_go_and_in_python(go_verify: Path) -> None:
    cases: list[tuple[int, int, bytes, bytes, list[bytes]]] = []
    for old, new in [(1, 2), (3, 7), (4, 8), (6, 8), (7, 70), (32, 64), (33, 70), (69, 70)]:
        proof = TREE.consistency_proof(old, new)
        o, n = TREE.root(old), TREE.root(new)
        for i in range(len(proof)):
            bad = list(proof)
            bad[i] = _flip(bad[i], 3)
            cases.append((old, new, o, n, bad))
        cases.append((old, new, o, n, proof[:-1]))
        cases.append((old, new, o, n, [*proof, n]))
        cases.append((old, new, _flip(o, 1), n, proof))
        cases.append((old, new, o, _flip(n, 1), proof))
        cases.append((old + 1, new, TREE.root(old + 1), n, proof))
    go_cases = [{"old_size": a, "new_size": b, "old_root": _b64(x), "new_root": _b64(y),
                 "proof": [_b64(p) for p in pr]} for a, b, x, y, pr in cases]
    assert _run_cases(go_verify, "check-consistency", go_cases) == [False] * len(cases)
    for a, b, x, y, pr in cases:
        with pytest.raises(ProofError):
            verify_consistency(a, b, x, y, pr)


def test_transparency_dev_vectors_agree_with_go(go_verify: Path) -> None:
    """The public vectors (tests/vectors/merkle_rfc6962.json) mean the same to Go's tlog."""
    v = json.loads((VECTORS / "merkle_rfc6962.json").read_text("utf-8"))
    roots = {r["size"]: bytes.fromhex(r["root"]) for r in v["roots"]}
    leaves = [bytes.fromhex(x) for x in v["leaf_inputs"]]
    good = [_inclusion_case(p["index"], p["size"], [bytes.fromhex(h) for h in p["proof"]],
                           roots[p["size"]], entry=leaves[p["index"]])
            for p in v["inclusion_proofs"]]
    assert all(_run_cases(go_verify, "check-inclusion", good))
    good_c = [{"old_size": p["size1"], "new_size": p["size2"],
               "old_root": _b64(roots[p["size1"]]), "new_root": _b64(roots[p["size2"]]),
               "proof": [_b64(bytes.fromhex(h)) for h in p["proof"]]}
              for p in v["consistency_proofs"]]
    assert all(_run_cases(go_verify, "check-consistency", good_c))

    # Negative probes Go can express: int64 sizes/indexes and 32-byte hashes (tlog.Hash).
    def expressible(hashes: Sequence[str], *ints: int) -> bool:
        return all(len(h) == 64 for h in hashes) and all(0 <= x < 2**63 for x in ints)

    bad = [_inclusion_case(p["index"], p["size"], [bytes.fromhex(h) for h in p["proof"]],
                          bytes.fromhex(p["root"]), leaf=bytes.fromhex(p["leaf_hash"]))
           for p in v["inclusion_probes"]
           if expressible([*p["proof"], p["root"], p["leaf_hash"]], p["index"], p["size"])]
    assert len(bad) > 40
    assert _run_cases(go_verify, "check-inclusion", bad) == [False] * len(bad)
    bad_c = [{"old_size": p["size1"], "new_size": p["size2"],
              "old_root": _b64(bytes.fromhex(p["root1"])),
              "new_root": _b64(bytes.fromhex(p["root2"])),
              "proof": [_b64(bytes.fromhex(h)) for h in p["proof"]]}
             for p in v["consistency_probes"]
             if expressible([*p["proof"], p["root1"], p["root2"]], p["size1"], p["size2"])]
    assert len(bad_c) > 40
    assert _run_cases(go_verify, "check-consistency", bad_c) == [False] * len(bad_c)


def test_go_reports_malformed_input_as_a_usage_error(go_verify: Path) -> None:
    res = _go(go_verify, "check-inclusion", stdin=b'{"index": 0, "size": 1, "root": "AA=="}')
    assert res.returncode == 2
    res = _go(go_verify, "no-such-command")
    assert res.returncode == 2
