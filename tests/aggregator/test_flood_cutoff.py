"""The flood cut-off's counting and its password-file moves (aggregator/flood_cutoff.py); the
whole path against a real broker and serve is tests/security/test_flood_cutoff.py."""

from __future__ import annotations

from pathlib import Path

from aggregator.broker_auth import PasswordFile
from aggregator.flood_cutoff import (
    CUTOFF_DROPS,
    FloodDetector,
    cutoff_unavailable,
    discard_suspension,
    read_suspended,
    restore_login,
    suspend_login,
    suspended_path,
)

A, B = "a" * 32, "b" * 32


class _Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_an_honest_agent_draining_a_backlog_never_trips_it() -> None:
    """The worst an honest agent does: max_in_flight (16) messages dropped, then nothing from
    those slots until its resend timeout (60 s) — for a whole day."""
    clock = _Clock()
    d = FloodDetector(clock=clock)
    for _ in range(24 * 60):
        for _ in range(16):
            assert d.note_drop(A) is None
        clock.t += 60.0


def test_a_flood_trips_once_then_again_only_after_the_rearm_time() -> None:
    clock = _Clock()
    d = FloodDetector(clock=clock)
    got = [d.note_drop(A) for _ in range(CUTOFF_DROPS)]
    assert got[:-1] == [None] * (CUTOFF_DROPS - 1) and got[-1] == CUTOFF_DROPS
    # what the broker had queued before the disconnect keeps coming: not a second trip
    assert all(d.note_drop(A) is None for _ in range(10 * CUTOFF_DROPS))
    assert d.note_drop(B) is None  # counted per device
    clock.t += d.rearm_s + 1
    assert [d.note_drop(A) for _ in range(CUTOFF_DROPS)][-1] == CUTOFF_DROPS


def test_drops_spread_wider_than_the_window_do_not_add_up() -> None:
    clock = _Clock()
    d = FloodDetector(clock=clock)
    for _ in range(10):
        for _ in range(CUTOFF_DROPS - 1):
            assert d.note_drop(A) is None
        clock.t += d.window_s + 0.1


def test_suspend_and_restore_move_the_same_hash(tmp_path: Path) -> None:
    passwd = tmp_path / "passwd"
    pf = PasswordFile(passwd)
    pf.set(A, "pw-a")
    pf.set(B, "pw-b")
    before = pf.read()
    assert suspend_login(passwd, A, "2026-12-04T23:00:00Z", 512, 10.0)
    assert set(pf.read()) == {B}
    assert suspended_path(passwd).stat().st_mode & 0o077 == 0  # hashes: owner only
    s = read_suspended(passwd)[A]
    assert (s.at, s.dropped, s.window_s) == ("2026-12-04T23:00:00Z", 512, 10.0)
    assert not suspend_login(passwd, A, "2026-12-04T23:00:01Z", 600, 10.0)  # already
    assert restore_login(passwd, A)
    assert pf.read() == before and read_suspended(passwd) == {}
    assert not restore_login(passwd, A)


def test_a_revoked_or_reissued_device_loses_its_suspended_login(tmp_path: Path) -> None:
    passwd = tmp_path / "passwd"
    PasswordFile(passwd).set(A, "pw-a")
    assert not discard_suspension(passwd, A)
    suspend_login(passwd, A, "2026-12-04T23:00:00Z", 512, 10.0)
    assert discard_suspension(passwd, A)
    assert not restore_login(passwd, A)
    assert A not in PasswordFile(passwd).read()


def test_cutoff_needs_the_pid_file_and_the_password_file(tmp_path: Path) -> None:
    passwd = tmp_path / "passwd"
    assert "broker_pid_file" in (cutoff_unavailable(passwd, None) or "")
    assert "does not exist" in (cutoff_unavailable(passwd, tmp_path / "pid") or "")
    PasswordFile(passwd).set(A, "pw")
    assert cutoff_unavailable(passwd, tmp_path / "pid") is None
