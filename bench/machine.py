"""The reference rate (bare Ed25519 verifications per second) and what machine we ran on."""

from __future__ import annotations

import os
import platform
import re
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

T = TypeVar("T")

Samples = Sequence[tuple[Ed25519PublicKey, bytes, bytes]]
"""(public key, signature, signed bytes): the reference workload of bare verifications."""


@dataclass(frozen=True)
class Reference:
    """Bare ``Ed25519PublicKey.verify`` calls per second: per wall-clock second (the reference
    of every ratio) and per CPU second of this process (steadier on a loaded machine)."""

    wall: float
    cpu: float


def bare_verify(samples: Samples, min_seconds: float = 0.5) -> Reference:
    """Bare verifications over ``samples`` (cycled until at least ``min_seconds`` have passed):
    no parsing, no canonicalisation, no storage."""
    if not samples:
        raise ValueError("no samples to verify")
    calls = 0
    started, cpu = time.perf_counter(), time.process_time()
    while True:
        for pub, sig, msg in samples:
            pub.verify(sig, msg)
        calls += len(samples)
        elapsed = time.perf_counter() - started
        if elapsed >= min_seconds:
            return Reference(calls / elapsed, calls / max(1e-9, time.process_time() - cpu))


REFERENCE_SECONDS = 0.5  # each reference measurement; --quick lowers it


def bracketed(samples: Samples, work: Callable[[], T],
              min_seconds: float | None = None) -> tuple[T, Reference]:
    """Run ``work`` between two reference measurements; return its result and the mean of the
    two references, so that a load change during the run moves both sides of the ratio."""
    seconds = REFERENCE_SECONDS if min_seconds is None else min_seconds
    before = bare_verify(samples, seconds)
    result = work()
    after = bare_verify(samples, seconds)
    return result, Reference((before.wall + after.wall) / 2, (before.cpu + after.cpu) / 2)


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "absent"


def _command_version(argv: list[str], pattern: str) -> str:
    if shutil.which(argv[0]) is None and not Path(argv[0]).exists():
        return "absent"
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    m = re.search(pattern, r.stdout + r.stderr)
    return m.group(1) if m else "unknown"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info() -> dict[str, Any]:
    """Flat facts about the run: date, machine, versions of everything on the measured path."""
    from tests.support.postgres_kit import find_bindir

    try:
        postgres = _command_version([str(find_bindir() / "postgres"), "--version"],
                                    r"(\d+\.\d+)")
    except Exception:  # noqa: BLE001 - absent PostgreSQL is reported, not fatal here
        postgres = "absent"
    mosquitto = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine_cpu": cpu_model(),
        "machine_cores": os.cpu_count() or 0,
        "machine_os": f"{platform.system()} {platform.release()}",
        "load_average_at_start": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        "cryptography": _version("cryptography"),
        "openssl": _openssl(),
        "paho_mqtt": _version("paho-mqtt"),
        "psycopg": _version("psycopg"),
        "rfc8785": _version("rfc8785"),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": postgres,
        "mosquitto": _command_version([mosquitto, "-h"], r"mosquitto version (\S+)"),
    }


def _openssl() -> str:
    try:
        from cryptography.hazmat.backends.openssl.backend import backend

        return str(backend.openssl_version_text())
    except Exception:  # noqa: BLE001 - informational only
        return "unknown"
