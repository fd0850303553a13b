"""Run a local Mosquitto broker: for ``make demo``, the integration tests and single-box installs.

Not a mock: the real ``mosquitto`` binary (Debian package ``mosquitto``) with a generated config
bound to loopback on a free port. MQTT v5 is negotiated by the clients; the broker speaks it
natively. Per-device credentials and ACLs arrive with the broker access work (issue 6); until then
the listener is loopback-only with anonymous access, which is what a test or demo needs.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from .errors import EnvironmentProblem


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def broker_config(port: int, state_dir: Path, *, persistence: bool = False,
                  max_packet_size: int = 262144) -> str:
    """A mosquitto.conf for a loopback listener. Pure: returns the text."""
    lines = [
        f"listener {port} 127.0.0.1",
        "allow_anonymous true",
        f"max_packet_size {max_packet_size}",
        # the aggregator may be down for a while: keep its queued QoS 1 readings (PITFALLS §5)
        "max_queued_messages 100000",
        "max_inflight_messages 64",
        f"persistence {'true' if persistence else 'false'}",
        f"persistence_location {state_dir}/",
        "autosave_interval 10",
        "log_dest stderr",
        "log_type error",
        "log_type warning",
        "log_type notice",
    ]
    if os.geteuid() == 0:
        # as root mosquitto drops to user 'mosquitto', which cannot read our state dir
        lines.append("user root")
    return "\n".join(lines) + "\n"


@dataclass
class Mosquitto:
    """A running broker. Use as a context manager; ``stop()`` leaves no process behind."""

    state_dir: Path
    port: int = 0
    persistence: bool = False
    proc: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> Mosquitto:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not Path(binary).exists():
            raise EnvironmentProblem("mosquitto is not installed: run 'make deps' "
                                     "(apt-get install mosquitto)")
        self.state_dir.mkdir(parents=True, exist_ok=True)
        if not self.port:
            self.port = free_port()
        conf = self.state_dir / "mosquitto.conf"
        conf.write_text(broker_config(self.port, self.state_dir, persistence=self.persistence))
        log = open(self.state_dir / "mosquitto.log", "ab")  # noqa: SIM115 - owned by the process
        self.proc = subprocess.Popen([binary, "-c", str(conf)], stdout=log, stderr=log,
                                     stdin=subprocess.DEVNULL)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise EnvironmentProblem(
                    f"mosquitto exited with {self.proc.returncode}; see "
                    f"{self.state_dir / 'mosquitto.log'}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise EnvironmentProblem(f"mosquitto did not listen on port {self.port} within {timeout}s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def __enter__(self) -> Mosquitto:
        return self.start() if self.proc is None else self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
