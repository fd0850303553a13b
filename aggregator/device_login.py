"""A device's broker login (docs/protocol.md §3 "Broker access"): issued when it is enrolled or
rekeyed, withdrawn when it is revoked, and only ever for an enrolled, unrevoked device.

:mod:`aggregator.operator` calls these as steps of its actions (and records them in the audit
trail); ``eco-aggregator ca client-cert`` checks enrolment with :func:`refuse_unless_enrolled`.
A device's password appears only in what :func:`issue_device_login` returns; the password file
keeps its hash.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from eco_protocol.messages import msg

from .broker_auth import PasswordFile, new_password, reload_broker
from .config import Config
from .errors import EnvironmentProblem, Rejected
from .flood_cutoff import discard_suspension

if TYPE_CHECKING:
    from .store.interface import LedgerStore


def issue_device_login(cfg: Config, device_id: str) -> dict[str, str]:
    """A new random password for ``device_id`` in the broker's password file; the broker is
    told to reload. Returns the JSON fields that carry the password to the operator, once."""
    password = new_password()
    try:
        PasswordFile(cfg.mqtt.broker_passwd_file).set(device_id, password)
    except (EnvironmentProblem, Rejected) as e:
        raise EnvironmentProblem(msg("aggregator.broker.login_not_stored", device=device_id,
                                     error=e)) from e
    # a new password replaces a login suspended for flooding: a restore must not undo it
    discard_suspension(cfg.mqtt.broker_passwd_file, device_id)
    return {"broker_username": device_id, "broker_password": password,
            "broker_reload": reload_broker(cfg.mqtt.broker_pid_file)}


def withdraw_device_login(cfg: Config, device_id: str) -> dict[str, Any]:
    """Remove a revoked device's login: at its reload the broker disconnects the device and
    refuses its reconnects."""
    removed = PasswordFile(cfg.mqtt.broker_passwd_file).remove(device_id)
    # a login suspended for flooding must not come back with a later broker-restore
    discard_suspension(cfg.mqtt.broker_passwd_file, device_id)
    return {"broker_login_removed": removed,
            "broker_reload": reload_broker(cfg.mqtt.broker_pid_file) if removed
            else "not needed"}


def refuse_unless_enrolled(store: LedgerStore, device_id: str) -> None:
    """Broker access (a login, a client certificate) is for an enrolled, unrevoked device."""
    row = store.device(device_id)
    if row is None:
        raise Rejected(msg("aggregator.device.not_enrolled", device=device_id))
    if row.revoked_index is not None:
        raise Rejected(msg("aggregator.broker.revoked", device=device_id,
                           index=row.revoked_index))
