"""The demo run that the demo test modules share: one run per session (the solo phase of `make
test` runs them in one process, after the workers), not one per module."""

from __future__ import annotations

import pytest

from tests.e2e.demo_kit import Demo, run_demo


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    return run_demo(tmp_path_factory.mktemp("e2e") / "demo-output")
