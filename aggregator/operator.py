"""Operator actions — enrol, revoke, rekey, release — with all their side effects, in one place.

The CLI (``eco-aggregator enrol|revoke|rekey``) and the web UI both call these functions and do
none of the steps themselves, so the two can no longer drift apart (the UI once revoked a device
in the log but left its broker login in place). Each action:

* changes the ledger (``eco.enrol/v1`` / ``eco.revoke/v1``) and, for an enrolment, the personal
  store (:mod:`aggregator.personal`, the only place the reference lives; the log has its
  pseudonym), which ``forget`` erases without touching the log;
* changes the device's broker login (issued on enrol/rekey, withdrawn on revoke/rekey) and tells
  the broker to reload (:mod:`aggregator.device_login`);
* leaves one audit record — who (the UI account, or ``cli``, and the OS user), what, which device,
  which household pseudonym, and the outcome — as a structured line on the ``eco.audit`` logger
  and appended (fsync'd) to ``<state_dir>/operator-audit.jsonl`` (mode 0600). Refused and failed
  attempts are recorded too: an insider probing is as interesting as one succeeding.

Household references (names, addresses) never enter the audit trail; the revocation reason
(free text that may name a person) stays in the log only.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import pwd
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, TypeVar

from eco_protocol.canonical import parse_json
from eco_protocol.certificates import IssuerConfig
from eco_protocol.claim_tokens import Equipment
from eco_protocol.errors import ProtocolError
from eco_protocol.keys import DeviceId
from eco_protocol.messages import msg
from eco_protocol.programme_records import Period
from eco_protocol.records import MeterSpec

from . import certificates, logkeys, personal, quarantine, registry
from .batches import BatchPlan, certify_batch, seal_batch
from .broker_auth import reload_broker
from .certificates import Issuance
from .config import Config
from .consortium_audit import contested_devices
from .device_login import issue_device_login, refuse_unless_enrolled, withdraw_device_login
from .equipment_claims import refuse_contested, tokens_for_enrolment
from .errors import EnvironmentProblem, Rejected
from .flood_cutoff import discard_suspension, restore_login, suspend_login
from .ledger import Ledger
from .programme import Programme
from .redemption import RedeemResult, redeem
from .store.interface import DeviceRow, LedgerStore
from .webui.auth import ResidentCodes, Role, User, UserStore
from .webui.throttle import LoginThrottle

AUDIT_FILE: Final = "operator-audit.jsonl"
# the audit line must not depend on the command's verbosity (the CLI logs WARNING and up)
audit_log = logging.getLogger("eco.audit")
audit_log.setLevel(logging.INFO)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: ``name`` is the web UI account, or ``"cli"``; ``os_user`` the account the
    process runs as (with the sudo caller, when there is one), so a CLI action is attributable."""

    via: str  # "cli" or "ui"
    name: str
    os_user: str = field(default_factory=lambda: current_os_user())

    @classmethod
    def cli(cls) -> Actor:
        return cls("cli", "cli")

    @classmethod
    def ui(cls, account: str) -> Actor:
        return cls("ui", account)


def current_os_user() -> str:
    """The real uid's account name (not $USER, which the caller can set), plus sudo's caller."""
    uid = os.getuid()
    try:
        name = pwd.getpwuid(uid).pw_name
    except KeyError:
        name = f"uid {uid}"
    sudo = os.environ.get("SUDO_USER")
    return f"{name} (sudo by {sudo})" if uid == 0 and sudo else name


# --- the audit trail -------------------------------------------------------------------------


def audit_path(cfg: Config) -> Path:
    return cfg.state_dir / AUDIT_FILE


class AuditTrail:
    """``operator-audit.jsonl``, opened *before* an action so an unwritable trail stops the
    action instead of letting it go unrecorded. Append-only (O_APPEND), one JSON object per line,
    each line fsync'd before the caller sees the result."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC,
                               0o600)
        except OSError as e:
            raise EnvironmentProblem(f"cannot open the operator audit file {path}: "
                                     f"{e.strerror}; nothing was done (operator actions are "
                                     "refused while they cannot be recorded)") from e
        try:
            if os.fstat(self._fd).st_mode & 0o077:
                os.fchmod(self._fd, 0o600)  # it names operators and devices: owner only
        except OSError:
            os.close(self._fd)
            raise

    def write(self, record: Mapping[str, Any]) -> None:
        line = (json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")
        fcntl.flock(self._fd, fcntl.LOCK_EX)  # one whole line per writer, CLI and UI alike
        try:
            os.write(self._fd, line)
            os.fsync(self._fd)
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        os.close(self._fd)


def read_audit(cfg: Config) -> list[dict[str, Any]]:
    """Every record of the trail, oldest first (for tests and for reviewing it by hand)."""
    try:
        text = audit_path(cfg).read_text("utf-8")
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@dataclass
class _Record:
    """One action's audit record, filled in as the action proceeds."""

    action: str
    actor: Actor
    device_id: str | None  # None: the key was refused before it gave an id
    household: str | None = None
    replaced_by: str | None = None
    index: int | None = None
    broker_login: str | None = None  # issued / removed / absent / replaced / suspended / restored
    broker_reload: str | None = None
    target: str | None = None  # what else the action was about (e.g. a lifted login lock-out)

    def as_dict(self, outcome: str, error: str | None) -> dict[str, Any]:
        return {"at": datetime.now(UTC).isoformat(timespec="milliseconds")
                .replace("+00:00", "Z"),
                "action": self.action, "actor": self.actor.name, "via": self.actor.via,
                "os_user": self.actor.os_user, "device_id": self.device_id,
                "household": self.household, "replaced_by": self.replaced_by,
                "index": self.index, "broker_login": self.broker_login,
                "broker_reload": self.broker_reload, "target": self.target,
                "outcome": outcome, "error": error}


@contextlib.contextmanager
def _audited(cfg: Config, rec: _Record, scrub: str | None = None) -> Iterator[_Record]:
    """Run an action and record its outcome: ``ok``; ``refused`` (the operator's input or the
    device's state said no, nothing changed); ``partial`` (the log changed but the broker login
    did not: the error says what to do); ``failed`` (anything else). ``scrub`` (the household
    reference) is blanked out of error texts, which must not carry personal names."""
    trail = AuditTrail(audit_path(cfg))
    try:
        try:
            yield rec
        except Rejected as e:
            _emit(trail, rec, "refused", _scrubbed(str(e), scrub))
            raise
        except BaseException as e:
            outcome = "partial" if rec.index is not None else "failed"
            _emit(trail, rec, outcome, _scrubbed(f"{type(e).__name__}: {e}", scrub))
            raise
        _emit(trail, rec, "ok", None)
    finally:
        trail.close()


def _scrubbed(text: str, secret: str | None) -> str:
    if secret and secret.strip():
        text = text.replace(secret.strip(), "<household reference>")
    return text


def _emit(trail: AuditTrail, rec: _Record, outcome: str, error: str | None) -> None:
    record = rec.as_dict(outcome, error)
    audit_log.log(logging.INFO if outcome == "ok" else logging.WARNING, "%s",
                  json.dumps(record, ensure_ascii=False, sort_keys=True))
    trail.write(record)


# --- the actions -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Enrolled:
    device_id: str
    household: str
    index: int
    enrolled_at: str
    login: dict[str, str]  # broker_username, broker_password (shown once), broker_reload


@dataclass(frozen=True, slots=True)
class Revoked:
    device_id: str
    household: str | None
    index: int
    login: dict[str, Any]  # broker_login_removed, broker_reload


@dataclass(frozen=True, slots=True)
class Rekeyed:
    replaced: str
    device_id: str
    household: str
    old_login: dict[str, Any]
    login: dict[str, str]


def pseudonym_key(cfg: Config) -> bytes:
    try:
        return bytes.fromhex(cfg.pseudonym_key_file.read_text().strip())
    except (OSError, ValueError) as e:
        raise EnvironmentProblem(f"pseudonym key {cfg.pseudonym_key_file}: {e}") from e


def household_in(row: DeviceRow) -> str | None:
    """The pseudonym a device's enrolment names (None if unreadable)."""
    with contextlib.suppress(ProtocolError, KeyError, TypeError):
        return str(parse_json(row.enrolment)["household"])
    return None


def household_of(store: LedgerStore, device_id: str) -> str | None:
    """The pseudonym an enrolled device belongs to (None if unknown or unreadable)."""
    row = store.device(device_id)
    return None if row is None else household_in(row)


def resolve_household(cfg: Config, given: str) -> str:
    """The pseudonym for operator input that is either the ``hh-…`` pseudonym or the household
    reference as enrolled."""
    given = given.strip()
    if personal.PSEUDONYM_RE.fullmatch(given):
        return given
    return registry.pseudonym(pseudonym_key(cfg), given)


def _login_or_explain(what: str, step: Callable[[], T]) -> T:
    """Run a broker-login step after the log changed: its error must say so, and what to do
    (a plain "cannot write the password file" would read as if nothing had happened)."""
    try:
        return step()
    except (EnvironmentProblem, Rejected, OSError) as e:
        raise EnvironmentProblem(f"{what}: {e}") from e


def enrol(cfg: Config, ledger: Ledger, actor: Actor, *, public_key: bytes, reference: str,
          programme: str, meters: Sequence[MeterSpec], fit: Mapping[str, Any],
          enrolled_at: str, contact: str | None = None,
          equipment: Sequence[Equipment] = ()) -> Enrolled:
    """Keep the household reference, append ``eco.enrol/v1``, issue the device's broker login.
    The caller has validated the terms (the CLI's flags, the UI's form). ``equipment`` becomes
    the enrolment's claim tokens, refused if any member holds it (issue 18)."""
    household = registry.pseudonym(pseudonym_key(cfg), reference)
    with _audited(cfg, _Record("enrol", actor, None, household), reference) as rec:
        tokens = tokens_for_enrolment(cfg.consortium, ledger.store, equipment, meters)
        enrolment = registry.build_enrolment(public_key, household, programme, meters, fit,
                                             enrolled_at, tokens)
        device_id = rec.device_id = enrolment.device_id
        with personal.open_personal(cfg.state_dir) as people:  # never the ledger's store
            people.put(personal.Person(household, reference, contact))
        rec.index, _ = registry.enrol(ledger, enrolment)
        # printed once by the caller; only its hash is kept (docs/protocol.md §3). Its errors
        # already say the device is enrolled and how to issue the login again.
        login = issue_device_login(cfg, device_id)
        rec.broker_login, rec.broker_reload = "issued", login["broker_reload"]
    return Enrolled(device_id, household, rec.index, enrolment.enrolled_at, login)


def revoke(cfg: Config, ledger: Ledger, actor: Actor, device_id: str, reason: str,
           at: str) -> Revoked:
    """Append ``eco.revoke/v1`` and withdraw the device's broker login, so the broker, at its
    reload, disconnects the device and refuses its reconnects. A device revoked earlier without
    that (the web UI before this module) has its login withdrawn on a second attempt, which is
    still refused as already revoked."""
    household = household_of(ledger.store, device_id)
    with _audited(cfg, _Record("revoke", actor, device_id, household)) as rec:
        row = ledger.store.device(device_id)
        if row is not None and row.revoked_index is not None:
            removed = _withdraw(cfg, rec, device_id)
            raise Rejected(msg("aggregator.revoke.already", device=device_id,
                               index=row.revoked_index,
                               removed=msg("aggregator.revoke.login_removed") if removed
                               else ""))
        rec.index = registry.revoke(ledger, DeviceId(device_id), reason, at)
        _withdraw(cfg, rec, device_id)
        login = {"broker_login_removed": rec.broker_login == "removed",
                 "broker_reload": rec.broker_reload}
    return Revoked(device_id, household, rec.index, login)


def _withdraw(cfg: Config, rec: _Record, device_id: str) -> bool:
    out = _login_or_explain(
        f"device {device_id} is revoked in the log, but its broker login could not be removed "
        f"(delete its line from {cfg.mqtt.broker_passwd_file} and reload the broker)",
        lambda: withdraw_device_login(cfg, device_id))
    removed = bool(out["broker_login_removed"])
    rec.broker_login = "removed" if removed else "absent"
    rec.broker_reload = str(out["broker_reload"])
    return removed


def rekey(cfg: Config, ledger: Ledger, actor: Actor, device_id: str, new_public_key: bytes,
          at: str) -> Rekeyed:
    """Revoke ``device_id`` and enrol the new key for the same household (one transaction, see
    :func:`aggregator.registry.rekey`); the old login is withdrawn, the new one issued."""
    household = household_of(ledger.store, device_id)
    with _audited(cfg, _Record("rekey", actor, device_id, household)) as rec:
        new = registry.rekey(ledger, DeviceId(device_id), new_public_key, at)
        rec.household, rec.replaced_by = new.household, new.device_id
        row = ledger.store.device(new.device_id)
        rec.index = None if row is None else row.enrol_index
        old_login = _login_or_explain(
            f"device {device_id} was replaced by {new.device_id}, but its broker login could "
            f"not be removed (delete its line from {cfg.mqtt.broker_passwd_file})",
            lambda: withdraw_device_login(cfg, device_id))
        login = issue_device_login(cfg, new.device_id)
        rec.broker_login, rec.broker_reload = "replaced", login["broker_reload"]
    return Rekeyed(device_id, new.device_id, new.household, old_login, login)


def lift_lockout(cfg: Config, actor: Actor, throttle: LoginThrottle, kind: str,
                 name: str) -> bool:
    """Forgive a web UI account's (or a client address's) failed logins — a colleague who
    mistyped, vouched for by the operator. Recorded like every operator action; refused (and
    recorded) when there was nothing to lift."""
    with _audited(cfg, _Record("lift-lockout", actor, None, target=f"{kind} {name}")):
        if not throttle.lift(kind, name):
            raise Rejected(msg("aggregator.ui.no_lockout", kind=kind, name=repr(name)))
    return True


@dataclass(frozen=True, slots=True)
class ReleasedDevice:
    device_id: str
    household: str | None
    index: int


def release(cfg: Config, ledger: Ledger, actor: Actor, device_id: str, reason: str,
            at: str) -> ReleasedDevice:
    """The operator's decision on a quarantined (forked) device: it may credit again from an
    ``eco.release/v1`` entry on. The other decision is :func:`revoke` (or :func:`rekey`, for a
    box that was cloned). Readings logged while it was quarantined stay uncredited."""
    household = household_of(ledger.store, device_id)
    with _audited(cfg, _Record("release", actor, device_id, household)) as rec:
        with ledger.store.transaction():
            rec.index = quarantine.append_release(ledger, device_id, reason, at)
        ledger.checkpoint_now()
    return ReleasedDevice(device_id, household, rec.index)


# --- the right to be forgotten -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Forgotten:
    household: str  # the pseudonym, which stays in the log with its readings and points


def forget(cfg: Config, actor: Actor, household_or_reference: str) -> Forgotten:
    """Erase a household's personal data (reference, contact) from the personal store, on the
    household's request. The ledger is not opened: the pseudonym, its readings and its points
    stay, verifiable, and nobody can tell any more whose they were. ``household_or_reference``
    is the ``hh-…`` pseudonym or the reference as enrolled; the audit record names only the
    pseudonym."""
    given = household_or_reference.strip()
    household = resolve_household(cfg, given)
    with _audited(cfg, _Record("forget", actor, None, household),
                  None if household == given else given), \
            personal.open_personal(cfg.state_dir) as people:
        if not people.erase(household):
            raise Rejected(msg("aggregator.forget.nothing", household=household))
    return Forgotten(household)


def search_households(cfg: Config, actor: Actor, query: str) -> list[personal.Person]:
    """The households whose name, address or phone contains ``query``
    (:meth:`aggregator.personal.PersonalStore.search`). Looking people up is a view of personal
    data, so it is audited like an action: who searched and how many households were shown —
    never the query or the names, which are personal data themselves."""
    with _audited(cfg, _Record("household-search", actor, None), query) as rec, \
            personal.open_personal(cfg.state_dir) as people:
        found = people.search(query)
        rec.target = f"{len(found)} shown"
    return found


def household_person(cfg: Config, actor: Actor, household: str) -> personal.Person | None:
    """The name, address and contact of ``household`` (a pseudonym) for the operator's
    household page; None once forgotten. A view of personal data like a search, so audited the
    same way: who looked at which pseudonym and whether a name was shown — never the name."""
    with _audited(cfg, _Record("household-view", actor, None, household)) as rec, \
            personal.open_personal(cfg.state_dir) as people:
        person = people.get(household)
        rec.target = "name shown" if person is not None else "no personal data"
    return person


# --- a device's broker login, issued again (eco-aggregator broker-password) ---------------------


def _device_id_or_refuse(rec: _Record, device_id: str) -> None:
    """Refuse operator input that is not a device id, keeping it out of the trail."""
    if not registry.DEVICE_ID_RE.fullmatch(device_id):
        rec.device_id = None
        raise Rejected(msg("aggregator.device.bad_id", text=repr(device_id[:64])))


def reissue_broker_login(cfg: Config, store: LedgerStore, actor: Actor,
                         device_id: str) -> dict[str, str]:
    """A new broker password for an enrolled, unrevoked device (the old one stops working at
    the broker's reload). Audited like enrol and revoke: a new password is a new way in, and a
    refused attempt (unknown or revoked device) is recorded too. Returns the login fields, the
    password among them, shown once by the caller."""
    with _audited(cfg, _Record("broker-password", actor, device_id,
                               household_of(store, device_id))) as rec:
        _device_id_or_refuse(rec, device_id)
        refuse_unless_enrolled(store, device_id)
        login = issue_device_login(cfg, device_id)
        rec.broker_login, rec.broker_reload = "reissued", login["broker_reload"]
    return login


# --- the programme's actions: batches, certifications, redemptions, the log key, accounts -------
# What they change is in the log (signed) or in the UI's files; the trail adds who did it.


def seal(cfg: Config, ledger: Ledger, actor: Actor, plan: BatchPlan) -> int:
    """Seal a monitoring period's batch (``eco.batch/v1``); refused while a device it covers
    holds equipment claimed twice (issue 18; :mod:`aggregator.consortium_audit`)."""
    with _audited(cfg, _Record("seal", actor, None, target=plan.batch_id)) as rec:
        refuse_contested(plan, contested_devices(cfg.consortium, ledger.store))
        rec.index = seal_batch(ledger, plan)
    return rec.index


def certify(cfg: Config, ledger: Ledger, actor: Actor, programme: Programme, batch_id: str,
            first: str, last: str) -> int:
    """Record the J-Credit serials a batch was certified under (``eco.certify/v1``)."""
    with _audited(cfg, _Record("certify", actor, None, target=batch_id)) as rec:
        rec.index = certify_batch(ledger, programme, batch_id, first, last)
    return rec.index


# an audit record's target names what the action was about: an issuance id (~64 characters)
# and an id range must both fit
_TARGET_MAX: Final = 200


def issue_certificates(cfg: Config, ledger: Ledger, actor: Actor, programme: Programme,
                       period: Period, issuer: IssuerConfig,
                       households: Sequence[str] | None = None) -> Issuance:
    """Issue hourly granular certificates for ``period`` (``eco.claim/v1`` issued claims,
    :func:`aggregator.certificates.issue_certificates`): the CLI and the web UI alike, audited
    with the period and the households asked for; the record's index is the first claim's."""
    target = f"{period.start}..{period.end}" + (f" {','.join(households)}" if households else "")
    with _audited(cfg, _Record("certificates-issue", actor, None,
                               target=target[:_TARGET_MAX])) as rec:
        done = certificates.issue_certificates(ledger, programme, period, issuer, households)
        rec.index = done.bundles[0].claim_index if done.bundles else None
    return done


def move_certificates(cfg: Config, actor: Actor, action: str, target: str,
                      step: Callable[[], int]) -> int:
    """Assign, transfer or cancel granular certificates (``eco.claim/v1``; the move and any
    buyer's signed request are in the log, aggregator/certificate_moves.py); ``step`` appends
    it."""
    with _audited(cfg, _Record(f"certificates-{action}", actor, None,
                               target=target[:_TARGET_MAX])) as rec:
        rec.index = step()
    return rec.index


def redeem_points(cfg: Config, ledger: Ledger, actor: Actor, programme: Programme,
                  household: str, reward_id: str, at: datetime) -> RedeemResult:
    """Spend a household's points on a reward (``eco.redeem/v1``), at the town hall's counter
    or a shop's."""
    with _audited(cfg, _Record("redeem", actor, None, household, target=reward_id[:64])) as rec:
        res = redeem(ledger, programme, household, reward_id, at)
        rec.index = res.index
    return res


def rotate_log_key(cfg: Config, actor: Actor, reason: str) -> dict[str, Any]:
    """Change the log key (``eco.logkey/v1``); see aggregator/logkeys.py."""
    with _audited(cfg, _Record("log-key-rotate", actor, None)) as rec:
        out = logkeys.rotate(cfg, reason)
        rec.index = int(out["change_entry"])
    return out


def issue_resident_code(cfg: Config, actor: Actor, residents: ResidentCodes,
                        household: str) -> str:
    """A new web login code for a household (the previous one stops working)."""
    with _audited(cfg, _Record("resident-code", actor, None, household)):
        return residents.issue(household)


def set_ui_account(cfg: Config, actor: Actor, users: UserStore, name: str, password: str,
                   role: Role) -> User:
    """Create a web UI account, or set its password (its sessions end)."""
    with _audited(cfg, _Record("ui-user-add", actor, None,
                               target=f"{name[:64]} ({role.value})")):
        return users.add(name, password, role)


def remove_ui_account(cfg: Config, actor: Actor, users: UserStore, name: str) -> None:
    with _audited(cfg, _Record("ui-user-remove", actor, None, target=name[:64])):
        if not users.remove(name):
            raise Rejected(msg("aggregator.ui.no_user", name=repr(name)))


# --- a flooding device's broker login, suspended by serve and restored by the operator ----------
# (issue 14; aggregator/flood_cutoff.py)


def suspend_flooding_device(cfg: Config, device_id: str, dropped: int,
                            window_s: float) -> str:
    """``serve`` cuts off a device that floods far beyond its rate: its password hash is moved
    aside and the broker reloads (which disconnects it and refuses its reconnects). Audited with
    the actor ``serve``. Returns what the reload did."""

    what = f"{dropped} messages over the rate within {window_s:g} s"
    with _audited(cfg, _Record("broker-suspend", Actor("serve", "serve"), device_id,
                               target=what)) as rec:
        at = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        if not suspend_login(cfg.mqtt.broker_passwd_file, device_id, at, dropped, window_s):
            raise Rejected(msg("aggregator.device.no_login", device=device_id,
                               file=str(cfg.mqtt.broker_passwd_file)))
        rec.broker_login = "suspended"
        rec.broker_reload = reload_broker(cfg.mqtt.broker_pid_file)
    return rec.broker_reload


def restore_device_login(cfg: Config, store: LedgerStore, actor: Actor,
                         device_id: str) -> dict[str, str]:
    """The operator lets a suspended device back in with its old password (it needs no visit).
    Refused for a device that is not suspended, or that was revoked meanwhile."""

    with _audited(cfg, _Record("broker-restore", actor, device_id,
                               household_of(store, device_id))) as rec:
        _device_id_or_refuse(rec, device_id)
        row = store.device(device_id)
        if row is not None and row.revoked_index is not None:
            discard_suspension(cfg.mqtt.broker_passwd_file, device_id)
            raise Rejected(msg("aggregator.device.revoked_not_restored", device=device_id,
                               index=row.revoked_index))
        if not restore_login(cfg.mqtt.broker_passwd_file, device_id):
            raise Rejected(msg("aggregator.device.not_suspended", device=device_id))
        rec.broker_login = "restored"
        rec.broker_reload = reload_broker(cfg.mqtt.broker_pid_file)
    return {"device_id": device_id, "broker_login": "restored",
            "broker_reload": rec.broker_reload}
