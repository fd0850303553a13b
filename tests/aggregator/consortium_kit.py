"""What the consortium tests share: member logs behind real read-API servers, keys, and a
consortium.toml naming them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest

from aggregator.accounting import scan
from aggregator.batches import period_from_dates, plan_batch, seal_batch, write_report
from aggregator.cli.common import open_ledger
from aggregator.config import load_config
from aggregator.http_api import ApiConfig, ApiServer
from aggregator.intake import Intake
from aggregator.ledger import Ledger
from aggregator.mirror import mirror_round
from aggregator.programme import example_programme, load_programme
from aggregator.registry import build_enrolment, enrol
from aggregator.store import SqliteStore
from aggregator.witness import checkpoint_body
from eco_protocol.canonical import canonical_bytes
from eco_protocol.claim_tokens import ClaimSecret, claim_tokens, parse_equipment
from eco_protocol.consortium import parse_consortium
from eco_protocol.encoding import b64encode, format_time
from eco_protocol.keys import public_key_raw
from eco_protocol.note import CosignatureSigner, NoteSigner, Verifier
from eco_protocol.records import MeterSpec, Quantity
from eco_protocol.verify_cli import main as eco_verify
from tests.aggregator.ledger_kit import PV_TERMS, T0, Device
from tests.protocol.records_kit import fixed_key

LOG_A = NoteSigner("eco-ledger.town-a.test", fixed_key("consortium-test/log-a"))
LOG_B = NoteSigner("eco-ledger.town-b.test", fixed_key("consortium-test/log-b"))
LOG_C = NoteSigner("eco-ledger.town-c.test", fixed_key("consortium-test/log-c"))
W_A = CosignatureSigner("witness.town-a.test", fixed_key("consortium-test/w-a"))
W_B = CosignatureSigner("witness.town-b.test", fixed_key("consortium-test/w-b"))
W_C = CosignatureSigner("witness.town-c.test", fixed_key("consortium-test/w-c"))
W_BODY = CosignatureSigner("witness.body.test", fixed_key("consortium-test/w-body"))
ROOT = Path(__file__).resolve().parents[2]


def entry(tag: str, i: int) -> bytes:
    return canonical_bytes({"type": "test.synthetic/v1", "tag": tag, "n": i})


class LiveLog:
    """A member's ledger in its own SQLite file behind the read API on a free loopback port.
    ``tag`` makes the entries: two logs with one key and different tags are a fork."""

    def __init__(self, path: Path, signer: NoteSigner, tag: str,
                 witnesses: Sequence[Verifier] = ()) -> None:
        self.path = path
        self.tag = tag
        self.store = SqliteStore(path)
        self.ledger = Ledger(self.store, signer)
        self.api = ApiServer("127.0.0.1", 0, lambda: SqliteStore(path, check_integrity=False),
                             ApiConfig(signer.verifier, tuple(witnesses))).start()

    @property
    def url(self) -> str:
        return self.api.url

    def grow(self, n: int) -> None:
        size = self.ledger.size()
        with self.store.transaction():
            self.ledger.append([entry(self.tag, size + i) for i in range(n)])
        self.ledger.checkpoint_now()

    def close(self) -> None:
        self.api.stop()
        self.store.close()


@contextmanager
def live_logs(tmp_path: Path, witnesses: Sequence[Verifier]) -> Iterator[Callable[..., LiveLog]]:
    """A maker of :class:`LiveLog`s (``make(name, signer=LOG_B, tag=name)``) whose read APIs
    accept ``witnesses``' cosignatures; every log made is closed at the end."""
    opened: list[LiveLog] = []

    def make(name: str, signer: NoteSigner = LOG_B, tag: str | None = None) -> LiveLog:
        live = LiveLog(tmp_path / f"{name}.sqlite3", signer, tag or name, witnesses)
        opened.append(live)
        return live

    try:
        yield make
    finally:
        for live in opened:
            live.close()


def member_toml(name: str, log_vkey: str, url: str, witness: str | None) -> str:
    w = f'witness = "{witness}"\n' if witness else ""
    return f'[[members]]\nname = "{name}"\nlog_key = "{log_vkey}"\nurl = "{url}"\n{w}\n'


def witness_toml(w: CosignatureSigner | str) -> str:
    vkey = w if isinstance(w, str) else w.verifier.vkey
    return f'[[witnesses]]\nname = "{vkey.split("+", 1)[0]}"\nkey = "{vkey}"\n\n'


def write_consortium(path: Path, members: Sequence[tuple[str, str, str, str | None]],
                     witnesses: Sequence[CosignatureSigner | str], quorum: int = 2) -> Path:
    """``members``: (name, log vkey, read-API URL, its witness's name)."""
    text = 'name = "test-consortium"\n\n' + "".join(member_toml(*m) for m in members) + \
        "".join(witness_toml(w) for w in witnesses) + f"[policy]\nquorum = {quorum}\n"
    path.write_text(text, "utf-8")
    return path


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as r:  # noqa: S310 - a test's loopback server
        data: bytes = r.read()
    return data


def aggregator(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``eco-aggregator ARGS`` as its own process."""
    return subprocess.run([sys.executable, "-m", "aggregator.cli", *args], capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, "PYTHONPATH": str(ROOT)},
                          cwd=ROOT)


@contextmanager
def service(*args: str) -> Iterator[tuple[subprocess.Popen[str], dict[str, object]]]:
    """``eco-aggregator ARGS`` as a long-running process; yields it and its first JSON line."""
    proc = subprocess.Popen([sys.executable, "-m", "aggregator.cli", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line, proc.stderr.read() if proc.stderr else ""
        yield proc, json.loads(line)
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


# --- real towns (issue 18 points 4-5): an initialised aggregator state with its read API --------


class Town:
    """``eco-aggregator init`` in ``root/<name>``, its log behind the read API (in-process, on a
    free loopback port), a ``[consortium]`` section naming the claim-token secret, the
    consortium file and the mirrors; CLI commands run through ``aggregator.cli.main``."""

    def __init__(self, root: Path, name: str) -> None:
        from aggregator.cli import main

        self.name = name
        self.state = root / name
        self.conf = self.state / "aggregator.toml"
        self.origin = f"eco-ledger.{name}.test"
        assert main(["--config", str(self.conf), "init", str(self.state), "--origin",
                     self.origin]) == 0
        ledger = open_ledger(load_config(self.conf))
        self.vkey = ledger.signer.verifier.vkey
        ledger.checkpoint_now()  # an empty log's first checkpoint, so it can be mirrored
        assert isinstance(ledger.store, SqliteStore)
        db = ledger.store.path
        ledger.store.close()
        self.api = ApiServer("127.0.0.1", 0, lambda: SqliteStore(db, check_integrity=False),
                             ApiConfig(ledger.signer.verifier, (W_BODY.verifier,))).start()
        self.log_key = ledger.signer.verifier
        self.mirrors = self.state / "mirrors"

    def join(self, consortium: Path, secret: Path) -> None:
        with self.conf.open("a", encoding="utf-8") as f:
            f.write(f'\n[consortium]\nclaim_secret_file = "{secret}"\nfile = "{consortium}"\n'
                    f'member = "{self.name}"\nmirrors = "{self.mirrors}"\n')

    def cli(self, *args: str) -> int:
        from aggregator.cli import main
        return main(["--config", str(self.conf), *args])

    def cosign(self, state_dir: Path) -> None:
        """The verification body's witness cosigns this town's latest checkpoint (POSTed to
        its read API, which keeps the line in the town's store)."""
        from aggregator.witness import LogClient, WitnessConfig, witness_once
        cfg = WitnessConfig(self.log_key, W_BODY, state_dir / f"{self.name}.state.json", True)
        out = witness_once(cfg, LogClient(self.api.url, 10))
        assert out.submitted, out

    def close(self) -> None:
        self.api.stop()


def write_claim_secret(path: Path, *secrets: bytes) -> Path:
    """The consortium's claim-token secret file (mode 0600), current first."""
    path.write_text("".join(f"{s.hex()}\n" for s in secrets), "utf-8")
    path.chmod(0o600)
    return path


def town_consortium(path: Path, towns: Sequence[Town]) -> Path:
    """consortium.toml for ``towns`` with the verification body's witness, quorum 1."""
    return write_consortium(path, [(t.name, t.vkey, t.api.url, None) for t in towns], [W_BODY],
                            quorum=1)


INVERTER = "inverter=SMA:3001234567"


@pytest.fixture
def towns(tmp_path: Path) -> Iterator[tuple[Town, Town, Path]]:
    a, b = Town(tmp_path, "town-a"), Town(tmp_path, "town-b")
    try:
        consortium = town_consortium(tmp_path / "consortium.toml", [a, b])
        secret = write_claim_secret(tmp_path / "claim-tokens.key", os.urandom(32))
        a.join(consortium, secret)
        b.join(consortium, secret)
        yield a, b, consortium
    finally:
        a.close()
        b.close()


def enrol_equipment(town: Town, household: str, *equipment: str,
                    device: Device | None = None) -> int:
    device = device or Device()
    args = ["enrol", "--household", household, "--programme", "p", "--enrolled-at",
            "2026-05-01", "--meter", "pv1:pv_generation:sunspec-modbus:4500", *PV_TERMS,
            "--public-key", b64encode(public_key_raw(device.key))]
    for e in equipment:
        args += ["--equipment", e]
    return town.cli(*args)


def mirror(town: Town, consortium: Path) -> None:
    report = mirror_round(parse_consortium(consortium.read_text()), town.name, town.mirrors, 10)
    assert not report.failures and not report.forks, report.to_dict()


# the basket tests' programme, claim-token secret and batch period
BASKET_SECRET = ClaimSecret(bytes(range(32)))
BASKET_PROG = "basket-prog"
BASKET_PERIOD = "2026-11-22..2026-11-23"


def town_report(root: Path, name: str, inverters: list[str]) -> Path:
    """A town's log with one PV home per inverter serial, one day of readings, its batch sealed
    and cosigned by the verification body; returns the report's directory."""
    signer = NoteSigner(f"eco-ledger.{name}.test", fixed_key(f"basket/{name}"))
    d = root / name
    d.mkdir()
    ledger = Ledger(SqliteStore(d / "ledger.sqlite3"), signer, d / "cp.latest")
    (d / "programme.toml").write_text(example_programme(BASKET_PROG))
    programme = load_programme(d / "programme.toml")
    intake = Intake(ledger)
    devices = []
    for i, serial in enumerate(inverters):
        dev = Device()
        meters = [MeterSpec("pv1", Quantity.PV_GENERATION, "sunspec-modbus", 6000),
                  MeterSpec("exp1", Quantity.GRID_EXPORT, "echonet-broute", 6000)]
        tokens = claim_tokens(BASKET_SECRET, [parse_equipment(f"inverter=SMA:{serial}")])
        fit = {"installed": "2026-04-01", "status": "post_fit", "battery": False}
        enrol(ledger, build_enrolment(public_key_raw(dev.key), f"hh-{name}-{i}", BASKET_PROG,
                                      meters, fit, format_time(T0), tokens))
        devices.append(dev)
    for k in range(48):
        start = T0 + timedelta(minutes=30 * k)
        times = {"start": format_time(start), "end": format_time(start + timedelta(minutes=30))}
        for dev in devices:
            msg = [dev.reading(energy=300, meter="pv1", **times),
                   dev.reading(energy=100, meter="exp1", quantity="grid_export", **times)]
            (o,) = intake.process([(dev.topic, canonical_bytes(msg))], "2026-11-25T00:00:00Z")
            assert o.accepted == 2, o.receipt
    plan = plan_batch(scan(ledger.store), programme, period_from_dates(BASKET_PERIOD))
    seal_batch(ledger, plan)
    ledger.checkpoint_now()
    row = ledger.store.latest_checkpoint()
    assert row is not None
    line = W_BODY.cosign(checkpoint_body(row.note), 1_796_000_000).line
    ledger.store.add_cosignature(row.size, W_BODY.verifier.name, line)
    write_report(ledger, programme, plan.batch_id, d / "out", [W_BODY.verifier.vkey],
                 checkpoint=row)
    ledger.store.close()
    return d / "out"


def consortium_file(root: Path, *towns: str) -> Path:
    members = [(t, NoteSigner(f"eco-ledger.{t}.test", fixed_key(f"basket/{t}")).verifier.vkey,
                f"https://eco-ledger.{t}.test", None) for t in towns]
    return write_consortium(root / "consortium.toml", members, [W_BODY], quorum=1)


def basket(capsys: pytest.CaptureFixture[str], conf: Path, *outs: Path,
           evidence: bool = True) -> tuple[int, str, str]:
    args = ["basket", *(str(o / "report.json") for o in outs), "--consortium", str(conf),
            "--json"]
    if evidence:
        for o in outs:
            args += ["--evidence", str(o / "evidence")]
    rc = eco_verify(args)
    out, err = capsys.readouterr()
    return rc, out, err
