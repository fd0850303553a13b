"""An honest device's receipt latency while another enrolled device floods the broker.

Issue 14: a three-minute flood from one device once took an honest device's receipt latency
from 68 ms median to 2.6 s and wrote half a million log lines. This measures the same thing
through the real path: Mosquitto → one ``eco-aggregator serve`` process → SQLite → receipt.

* The **honest device** publishes one signed reading every ``period_s`` (QoS 1) and times each
  publish → its receipt on ``eco/v1/<id>/receipts``.
* The **flooder**, another enrolled device in its own process (so it does not share a GIL with
  the measurement), publishes as fast as the broker acknowledges: copies of a valid message
  (answered ``duplicate`` when admitted), garbage payloads, and new valid readings on its own
  topic, in turn.

With ``cutoff`` (figures ``flood_cut_*``) the broker has access control as
``eco-aggregator broker-config`` writes it (a login per device, ``[mqtt] broker_pid_file`` set),
the flooder is ``mosquitto_pub -l`` with its own login, and ``serve`` may cut it off at the broker
(aggregator/flood_cutoff.py); the figures add when that happened.

First a baseline without the flood, then the same with it. Reported: honest p50/p99/max and
the share on time, flood messages per second the broker took, what ``serve`` did with them
(its stats), the log lines it wrote and the rejection rows the store grew by.

``python -m bench.flood [--seconds 20] [--out bench/results.json] [--readme README.md]``
merges its figures into the results file and re-renders the README table from it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import multiprocessing as mp
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from aggregator.config import load_config
from aggregator.device_login import issue_device_login
from aggregator.mosquitto import Mosquitto, free_port
from aggregator.operator import read_audit
from eco_protocol.topics import receipts_topic

from .harness import AggregatorDir, Workers, cli_json
from .readme import render_table, update_readme
from .town import DeviceBatch, aligned_start, enrol_town, make_device

log = logging.getLogger("bench.flood")

HERE = Path(__file__).resolve().parent
ON_TIME_S = 1.0  # the issue's target for the honest p99 during a flood


@dataclass(frozen=True)
class Latencies:
    sent: int
    answered: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    on_time: float  # share of sent messages answered within ON_TIME_S


def summarise(latencies: Sequence[float], sent: int, bound_s: float = ON_TIME_S) -> Latencies:
    """Percentiles of the answered messages; an unanswered one counts as late."""
    if not latencies:
        return Latencies(sent, 0, float("inf"), float("inf"), float("inf"), 0.0)
    xs = sorted(latencies)
    p99 = xs[min(len(xs) - 1, round(0.99 * (len(xs) - 1)))]
    return Latencies(sent, len(xs), round(statistics.median(xs) * 1000, 1),
                     round(p99 * 1000, 1), round(xs[-1] * 1000, 1),
                     round(sum(x <= bound_s for x in xs) / max(1, sent), 4))


class HonestDevice:
    """Publishes its messages one per ``period_s`` and times each receipt (by the seq of the
    reading it answers)."""

    def __init__(self, port: int, device: DeviceBatch, client_id: str,
                 password: str | None = None) -> None:
        self.device = device
        self.sent_at: dict[int, float] = {}
        self.latency: dict[int, float] = {}
        self.lock = threading.Lock()
        subscribed = threading.Event()
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        c.on_message = self._on_receipt
        c.on_subscribe = lambda *_a: subscribed.set()
        if password is not None:  # a broker with access control: username = device id
            c.username_pw_set(device.device_id, password)
        c.connect("127.0.0.1", port)
        c.subscribe(receipts_topic(device.device_id), qos=1)
        c.loop_start()
        if not subscribed.wait(10):
            raise RuntimeError("honest device: subscription not acknowledged")
        self.client = c
        self.next = 0

    def _on_receipt(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        now = time.monotonic()
        seq = int(json.loads(msg.payload)["items"][0]["seq"])
        with self.lock:
            if seq in self.sent_at and seq not in self.latency:
                self.latency[seq] = now - self.sent_at[seq]

    def run(self, seconds: float, period_s: float, bound_s: float = ON_TIME_S) -> Latencies:
        """Send for ``seconds``; wait up to 10 s more for the last receipts. ``bound_s``: what
        counts as on time."""
        first = self.next
        start = time.monotonic()
        while time.monotonic() - start < seconds and self.next < len(self.device.messages):
            due = start + (self.next - first) * period_s
            time.sleep(max(0.0, due - time.monotonic()))
            seq = self.next + 1  # one reading per message, seqs from 1
            with self.lock:
                self.sent_at[seq] = time.monotonic()
            self.client.publish(self.device.topic, self.device.messages[self.next], qos=1)
            self.next += 1
        seqs = range(first + 1, self.next + 1)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with self.lock:
                if all(s in self.latency for s in seqs):
                    break
            time.sleep(0.05)
        with self.lock:
            got = [self.latency[s] for s in seqs if s in self.latency]
        return summarise(got, len(seqs), bound_s)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def flood_payloads(device: DeviceBatch) -> list[bytes]:
    """What the flooder cycles through: a valid message again and again (a duplicate once
    stored), garbage, and its new valid readings, interleaved."""
    garbage = [b"not json", b"[]", b"{\"type\": 1}", b"\xff" * 200]
    out: list[bytes] = []
    for k, m in enumerate(device.messages):
        out += [device.messages[0], garbage[k % len(garbage)], m]
    return out


def flood_process(port: int, topic: str, payloads: list[bytes], seconds: float,
                   ready: Any, go: Any, result: Any) -> None:
    """Child process: publish QoS 1 as fast as the broker acknowledges, for ``seconds``. At
    nice 19: on a real installation the flooding device's CPU is its own, not the
    aggregator's, so here it gets whatever CPU the broker and ``serve`` leave."""
    os.nice(19)
    acked = [0]
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-flooder", protocol=mqtt.MQTTv5)

    def on_publish(*_a: Any) -> None:
        acked[0] += 1

    c.on_publish = on_publish
    c.max_inflight_messages_set(256)
    c.max_queued_messages_set(512)
    c.connect("127.0.0.1", port)
    c.loop_start()
    ready.set()
    go.wait()
    start = time.monotonic()
    k = 0
    while time.monotonic() - start < seconds:
        info = c.publish(topic, payloads[k % len(payloads)], qos=1)
        if info.rc == mqtt.MQTT_ERR_QUEUE_SIZE:
            time.sleep(0.0005)
            continue
        k += 1
    elapsed = time.monotonic() - start
    result.put((k, acked[0], elapsed))
    c.disconnect()
    c.loop_stop()


def c_flood(port: int, topic: str, payloads: list[bytes], seconds: float,
            login: tuple[str, str] | None = None) -> int:
    """Flood with ``mosquitto_pub -l`` (C, one line per message, 256 in flight): faster than
    one Python client can publish, as a device with a tight C loop could be. Returns the lines
    written to it; what arrived is counted by ``serve``. Killed after ``seconds`` by a timer, so
    a pipe that stopped draining (the broker cut it off) cannot block us."""
    blob = b"".join(p.replace(b"\n", b" ") + b"\n" for p in payloads)
    auth = [] if login is None else ["-u", login[0], "-P", login[1]]
    proc = subprocess.Popen(
        ["nice", "-n", "19", shutil.which("mosquitto_pub") or "/usr/bin/mosquitto_pub",
         "-h", "127.0.0.1", "-p", str(port), "-i", "bench-flooder", *auth, "-t", topic,
         "-q", "1", "-M", "256", "-V", "mqttv5", "-l"],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert proc.stdin is not None
    timer = threading.Timer(seconds, proc.kill)
    timer.start()
    start, lines = time.monotonic(), 0
    try:
        while time.monotonic() - start < seconds:
            proc.stdin.write(blob)
            lines += len(payloads)
    except (BrokenPipeError, ValueError):
        pass
    finally:
        timer.cancel()
        proc.kill()
        proc.wait()
    return lines


@dataclass
class HardenedSite:
    """An aggregator behind a broker with access control, as ``eco-aggregator broker-config
    --no-tls`` writes it: the aggregator's login on ``broker.port``, a login per device on
    ``device_port``, and ``[mqtt] broker_pid_file`` set, so ``serve`` can cut a device off."""

    agg: AggregatorDir
    broker: Mosquitto
    device_port: int
    logins: dict[str, str]  # device id → its broker password

    def audit(self) -> list[dict[str, Any]]:
        return read_audit(load_config(self.agg.config))


@contextlib.contextmanager
def hardened_site(tmp: Path, name: str,
                  devices: Sequence[DeviceBatch]) -> Iterator[HardenedSite]:
    """Enrol ``devices``, issue their logins, write the broker's config, run the broker."""
    port, device_port = free_port(), free_port()
    agg = AggregatorDir(tmp / name, name, f"mqtt://127.0.0.1:{port}", anonymous=False).init()
    broker_dir = agg.state / "broker"
    pid_file = broker_dir / "mosquitto.pid"
    text = agg.config.read_text()
    agg.config.write_text(re.sub(r"(?m)^broker_passwd_file = .*$",
                                 lambda m: f'{m.group(0)}\nbroker_pid_file = "{pid_file}"',
                                 text, count=1))
    ledger = agg.ledger()
    enrol_town(ledger, list(devices))
    ledger.store.close()
    cfg = load_config(agg.config)
    logins = {d.device_id: issue_device_login(cfg, d.device_id)["broker_password"]
              for d in devices}
    (agg.state / "persist").mkdir(exist_ok=True)
    cli_json("--config", str(agg.config), "broker-config", "--out", str(broker_dir),
             "--port", str(port), "--tls-port", str(device_port), "--no-tls",
             "--persistence-dir", str(agg.state / "persist"), "--pid-file", str(pid_file),
             *(["--user", "root"] if os.geteuid() == 0 else []))
    with Mosquitto(broker_dir, port=port, config_file=broker_dir / "mosquitto.conf") as broker:
        yield HardenedSite(agg, broker, device_port, logins)


def _rejection_rows(agg: AggregatorDir) -> int:
    db = sqlite3.connect(agg.state / "ledger.sqlite3")
    try:
        return int(db.execute("SELECT count(*) FROM rejection").fetchone()[0])
    finally:
        db.close()


def _log_lines(ws: Workers) -> int:
    return sum(len(p.read_text(errors="replace").splitlines()) for p in ws.logs)


def _suspended_at(site: HardenedSite, device_id: str) -> float | None:
    """When serve's audit record says it suspended ``device_id`` (epoch seconds), or None."""
    for r in site.audit():
        if r["action"] == "broker-suspend" and r["device_id"] == device_id \
                and r["outcome"] == "ok":
            return datetime.fromisoformat(r["at"].replace("Z", "+00:00")).timestamp()
    return None


def flood_bench(tmp: Path, broker: Mosquitto | None, *, seconds: float = 20.0,
                period_s: float = 0.1, flooder_kind: str = "paho",
                prefix: str = "flood_", cutoff: bool = False) -> dict[str, Any]:
    """One baseline, one flood, a little after; the figures' keys start with ``prefix``.
    ``cutoff``: a broker with access control of its own (``broker`` is not used) and a native
    flooder with its own login, which ``serve`` may cut off."""
    n = int(2 * seconds / period_s) + 20
    start = aligned_start(datetime.now(UTC), n)
    honest = make_device(seed=7, number=0, intervals=n, start=start, per_message=1)
    flooder = make_device(seed=7, number=1, intervals=2000, start=aligned_start(
        datetime.now(UTC), 2000), per_message=1)
    name = prefix.strip("_")
    with contextlib.ExitStack() as stack:
        site: HardenedSite | None = None
        if cutoff:
            flooder_kind = "c"
            site = stack.enter_context(hardened_site(tmp, name, [honest, flooder]))
            agg, port = site.agg, site.device_port
        else:
            assert broker is not None
            agg, port = AggregatorDir(tmp / name, name, broker.url).init(), broker.port
            ledger = agg.ledger()
            enrol_town(ledger, [honest, flooder])
            ledger.store.close()
        figures = _measure(agg, port, site, honest, flooder, seconds, period_s, flooder_kind)
    return {f"{prefix}{k}": v for k, v in figures.items()}


def _measure(agg: AggregatorDir, port: int, site: HardenedSite | None, honest: DeviceBatch,
             flooder: DeviceBatch, seconds: float, period_s: float,
             flooder_kind: str) -> dict[str, Any]:
    name = agg.name
    ws = agg.start_workers(1)
    dev = None
    flood_started = 0.0
    try:
        ws.wait_connected()
        dev = HonestDevice(port, honest, f"bench-honest-{name}",
                           None if site is None else site.logins[honest.device_id])
        log.info("baseline: %s s without the flood", seconds)
        base = dev.run(seconds, period_s)
        lines0, rows0 = _log_lines(ws), _rejection_rows(agg)
        payloads = flood_payloads(flooder)
        if flooder_kind == "c":
            box: list[int] = []
            login = None if site is None else (flooder.device_id,
                                               site.logins[flooder.device_id])
            t = threading.Thread(target=lambda: box.append(
                c_flood(port, flooder.topic, payloads, seconds, login)))
            flood_started = time.time()
            t.start()
            log.info("flood (mosquitto_pub): %s s", seconds)
            during = dev.run(seconds, period_s)
            t.join()
            published, acked, elapsed = box[0], -1, seconds
        else:
            ctx = mp.get_context("fork")
            ready, go, result = ctx.Event(), ctx.Event(), ctx.Queue()
            proc = ctx.Process(target=flood_process, args=(
                port, flooder.topic, payloads, seconds, ready, go, result))
            proc.start()
            if not ready.wait(10):
                raise RuntimeError("flooder did not connect")
            go.set()
            log.info("flood (paho): %s s", seconds)
            during = dev.run(seconds, period_s)
            published, acked, elapsed = result.get(timeout=60)
            proc.join(10)
        log.info("after the flood: %s s", seconds / 2)
        after = dev.run(seconds / 2, period_s)
        lines, rows = _log_lines(ws) - lines0, _rejection_rows(agg) - rows0
        (final,) = ws.stop()
    finally:
        ws.kill()
        if dev is not None:
            dev.close()
    stats = final["stats"]
    honest_sent = base.sent + during.sent + after.sent
    flood_in = stats["messages"] + stats.get("dropped", 0) - honest_sent
    minutes = max(1.0, (seconds * 1.5) / 60)
    figures = {
        "seconds": seconds,
        "honest_period_ms": round(period_s * 1000),
        "honest_p50_ms": during.p50_ms,
        "honest_p99_ms": during.p99_ms,
        "honest_max_ms": during.max_ms,
        "honest_on_time": during.on_time,
        "honest_answered": f"{during.answered}/{during.sent}",
        "baseline_p50_ms": base.p50_ms,
        "baseline_p99_ms": base.p99_ms,
        "after_p50_ms": after.p50_ms,
        "after_p99_ms": after.p99_ms,
        "flooder": "mosquitto_pub -l" if flooder_kind == "c" else "paho",
        # what reached serve (processed or dropped), per second of flood
        "msgs_per_s": round(flood_in / elapsed),
        "broker_acked_per_s": round(acked / elapsed) if acked >= 0 else None,
        "published": published,
        "serve_stats": json.dumps(stats, sort_keys=True),
        "log_lines": lines,
        "log_lines_per_min": round(lines / minutes, 1),
        "rejection_rows": rows,
    }
    if site is not None:
        at = _suspended_at(site, flooder.device_id)
        figures["cut_off_after_ms"] = None if at is None else round(
            (at - flood_started) * 1000)
        figures["flood_reached_serve"] = flood_in
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bench.flood", description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=20.0, help="flood duration (and baseline)")
    p.add_argument("--period-ms", type=float, default=100.0, help="honest publish period")
    p.add_argument("--out", type=Path, default=HERE / "results.json",
                   help="results file to merge into (default bench/results.json)")
    p.add_argument("--readme", type=Path, default=None,
                   help="README whose bench table to re-render from the merged results")
    p.add_argument("--flooder", choices=("all", "both", "c", "paho", "cut"), default="all",
                   help="paho: a Python client (figures flood_*); c: mosquitto_pub -l, faster "
                        "than one Python worker drains (flood_c_*); cut: mosquitto_pub -l "
                        "against a broker with access control, where serve cuts it off "
                        "(flood_cut_*); both: paho and c; all (default)")
    p.add_argument("--no-save", action="store_true", help="print only")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s bench: %(message)s")
    logging.getLogger("aggregator").setLevel(logging.WARNING)
    tmp = Path(tempfile.mkdtemp(prefix="eco-flood-"))
    try:
        figures: dict[str, Any] = {}
        with Mosquitto(tmp / "broker") as broker:
            for kind, prefix in (("paho", "flood_"), ("c", "flood_c_")):
                if args.flooder in ("all", "both", kind):
                    figures.update(flood_bench(tmp, broker, seconds=args.seconds,
                                               period_s=args.period_ms / 1000,
                                               flooder_kind=kind, prefix=prefix))
        if args.flooder in ("all", "cut"):
            figures.update(flood_bench(tmp, None, seconds=args.seconds,
                                       period_s=args.period_ms / 1000, prefix="flood_cut_",
                                       cutoff=True))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(figures, indent=2, sort_keys=True))
    if not args.no_save:
        results = json.loads(args.out.read_text()) if args.out.exists() else {}
        results.update(figures)
        args.out.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
        if args.readme is not None:
            update_readme(args.readme, render_table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
