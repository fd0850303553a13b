"""atomic_write's temporary file (made without :mod:`tempfile`, issue 16): beside the target,
never left behind, and the agent's imports do not pull ``tempfile`` in."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from eco_protocol import keyfile


def test_a_failed_write_leaves_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    with pytest.raises(TypeError):
        keyfile.atomic_write(target, "not bytes", 0o600)  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


def test_the_temporary_file_is_new_private_and_beside_the_target(tmp_path: Path) -> None:
    target = tmp_path / "device.key"
    fd, name = keyfile._temp_beside(target)
    try:
        tmp = Path(name)
        assert tmp.parent == tmp_path and tmp.name.startswith(".device.key.")
        assert tmp.name.endswith(".tmp") and os.stat(fd).st_mode & 0o777 == 0o600
    finally:
        os.close(fd)
    keyfile.atomic_write(target, b"x\n", 0o600)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([target.name, tmp.name])
