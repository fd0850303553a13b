"""eco_protocol.keyfile: the one I/O module of the protocol package (private key files)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from eco_protocol.errors import EnvironmentProblem
from eco_protocol.keyfile import (
    atomic_write,
    load_or_create_private_key,
    load_private_key,
    save_private_key,
)
from eco_protocol.keys import private_key_raw
from tests.protocol.records_kit import fixed_key


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    key = fixed_key("keyfile")
    path = tmp_path / "sub" / "device.key"
    save_private_key(path, key)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert private_key_raw(load_private_key(path)) == private_key_raw(key)
    assert path.read_text("ascii").endswith("\n")
    assert [p.name for p in path.parent.iterdir()] == ["device.key"]  # no temp files left


def test_load_or_create(tmp_path: Path) -> None:
    path = tmp_path / "k"
    key, created = load_or_create_private_key(path)
    assert created
    again, created_again = load_or_create_private_key(path)
    assert not created_again
    assert private_key_raw(again) == private_key_raw(key)


def test_world_readable_key_is_refused_with_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "k"
    save_private_key(path, fixed_key("k"))
    os.chmod(path, 0o644)
    with pytest.raises(EnvironmentProblem, match=f"run: chmod 600 {path}"):
        load_private_key(path)


@pytest.mark.parametrize("content", ["", "not base64!\n", "AAAA\n", "é\n"])
def test_damaged_key_files(tmp_path: Path, content: str) -> None:
    path = tmp_path / "k"
    path.write_text(content, "utf-8")
    os.chmod(path, 0o600)
    with pytest.raises(EnvironmentProblem, match="key file"):
        load_private_key(path)


def test_missing_key_file(tmp_path: Path) -> None:
    with pytest.raises(EnvironmentProblem, match="cannot read key file"):
        load_private_key(tmp_path / "absent")


def test_atomic_write_replaces_and_sets_mode(tmp_path: Path) -> None:
    path = tmp_path / "f"
    atomic_write(path, b"old")
    atomic_write(path, b"new", 0o640)
    assert path.read_bytes() == b"new"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f"]
