"""Refused messages are summarised per device, never logged one by one (hostile insiders: a
3-minute flood wrote half a million WARNING lines)."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from aggregator.mosquitto import Mosquitto
from aggregator.problem_log import ProblemLog, problem_code
from tests.aggregator.serve_kit import DeviceClient, enrolled_site, start_serve, wait_subscribed

pytestmark = pytest.mark.integration
DEV = "0123456789abcdef0123456789abcdef"


class _Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_first_problem_at_once_then_one_summary_per_window() -> None:
    clock = _Clock()
    plog = ProblemLog(60.0, clock)
    lines = plog.note(DEV, f"{DEV}: rate_limited: more than 20 messages/s")
    assert lines == [f"{DEV}: rate_limited: more than 20 messages/s"]
    for i in range(10_000):
        assert plog.note(DEV, f"{DEV}: rate_limited: more than 20 messages/s") == []
        if i % 100 == 0:
            assert plog.note(DEV, f"{DEV}: malformed: payload is not JSON") == []
    assert plog.flush() == []  # the window is still open
    clock.t += 60
    (summary,) = plog.flush()
    assert summary.startswith(f"{DEV}: 10100 more problem message(s) in the last 60 s "
                              "(malformed 100, rate_limited 10000); last: ")
    assert plog.flush() == []
    # the next window starts with its first problem logged again
    assert plog.note(DEV, f"{DEV}: malformed: x") == [f"{DEV}: malformed: x"]
    # another device and a message without a device id are counted apart
    assert plog.note(None, "topic 'x' is not eco/v1/<device_id>/readings; message dropped")
    assert plog.note("f" * 32, "f" * 32 + ": malformed: y") == ["f" * 32 + ": malformed: y"]
    assert plog.flush(force=True) == []  # nothing counted beyond the first lines


def test_problem_codes() -> None:
    assert problem_code(f"{DEV}: rate_limited: more than 20/s", DEV) == "rate_limited"
    assert problem_code("malformed: payload is not JSON") == "malformed"
    assert problem_code("topic 'eco/x' is not eco/v1/<device_id>/readings; dropped") == "problem"


def test_a_flood_through_serve_leaves_a_few_lines(tmp_path: Path, broker: Mosquitto,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """2,000 messages from one device as fast as the broker takes them (its rate limit is
    20/s with a burst of 200): most are refused, and the serve log names the device a few
    times, not 1,800."""
    _, conf, device, _ = enrolled_site(tmp_path, broker.url, capsys, "flood")
    proc = start_serve(conf)
    client = DeviceClient(device, broker.port)
    try:
        wait_subscribed(proc)
        for _ in range(2000):  # not even JSON: each one a problem without a receipt
            client.client.publish(device.topic, b"not json", qos=1)
        # the device's next honest message is answered once its rate allows: by then every
        # earlier message has been judged (one worker takes them in order)
        client.send_until_receipt([device.reading()], timeout=60)
    finally:
        client.close()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    lines = [ln for ln in err.decode().splitlines() if device.device_id in ln]
    assert 1 <= len(lines) <= 4, lines
    assert any("rate_limited" in ln and "more problem message(s)" in ln for ln in lines), lines
