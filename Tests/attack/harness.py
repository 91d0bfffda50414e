"""What every attack scenario shares: a daemon with a real (slow, yescrypt) admin hash,
the innocent member in a process of its own, a descriptor sampler, and the figures.

The daemon comes from Tests/python/chatroomd_fixture.py (ephemeral port on 127.0.0.1,
stderr collected, start and stop with deadlines); the sampling helpers from
Tests/soak/soak.py. Attack traffic comes from 127.0.0.0/8 source addresses only.
"""

import json
import os
import re
import resource
import select
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "python"))
sys.path.insert(0, str(HERE.parent / "soak"))

import chatroomd_fixture  # noqa: E402
from chatroomd_fixture import ADMIN_PASSWORD, Daemon  # noqa: E402
from chat_test_support import run_chatroomd  # noqa: E402
from soak import fd_count, wait_until  # noqa: E402

INNOCENT_ADDRESS = "127.0.0.2"
ADMIN_ADDRESS = "127.0.0.3"
INNOCENT_READY_DEADLINE = 15.0
INNOCENT_RESULT_DEADLINE = 60.0
_EVENT = re.compile(r"chat_event=([a-z-]+)")

_hash_cache = {}


def source_address(block, index):
    """The index-th attack address of a block: 127.<block>.<hi>.<lo>, never .0 or .255."""
    if not 10 <= block <= 250 or not 0 <= index < 250 * 250:
        raise ValueError(f"no attack address {block}/{index}")
    return f"127.{block}.{index // 250}.{index % 250 + 1}"


def yescrypt_hash(password=ADMIN_PASSWORD):
    """A hash from `chatroomd hash-password` (yescrypt, ~20 ms to verify): the cost the
    attacks are about. The fixture's SHA-256 hash would hide it."""
    if password not in _hash_cache:
        result = run_chatroomd("hash-password", input_text=password + "\n")
        if result.returncode != 0 or not result.stdout.strip().startswith("$"):
            raise RuntimeError(f"chatroomd hash-password failed ({result.returncode}): {result.stderr.strip()}")
        _hash_cache[password] = result.stdout.strip()
    return _hash_cache[password]


def raise_own_descriptor_limit():
    """The attacker holds thousands of sockets: its soft limit goes up to the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


class AttackDaemon(Daemon):
    """The fixture's daemon, with the account `admin` hashed by yescrypt and the daemon's
    own defaults for flood control and history (the fixture loosens them for its tests;
    an attack must meet what an operator runs)."""

    def __init__(self, extra_args=(), descriptor_limit=None):
        super().__init__(list(extra_args), seed_behaviour=[])
        self.descriptor_limit = descriptor_limit
        self.admin_hash = yescrypt_hash()

    def start(self):
        # The fixture passes its module's ADMIN_PASSWORD_HASH to --admin-password-hash, read
        # when start() runs; point it at the yescrypt hash of the same password.
        chatroomd_fixture.ADMIN_PASSWORD_HASH = self.admin_hash
        return super().start()

    @property
    def pid(self):
        return self.process.pid

    def event_counts(self):
        counts = Counter()
        for line in self.stderr_lines:
            match = _EVENT.search(line)
            if match:
                counts[match.group(1)] += 1
        return counts

    def crashed(self):
        return self.process.poll() is not None


class FdSampler:
    """Counts the daemon's open descriptors every `interval` seconds on a thread; keeps
    the peak and when it happened."""

    def __init__(self, pid, interval=0.05):
        self.pid = pid
        self.interval = interval
        self.peak = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fd-sampler", daemon=True)

    def _run(self):
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, fd_count(self.pid))
                self.samples += 1
            except OSError:
                return   # the daemon is gone
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=5)
        return False


class InnocentProcess:
    """Tests/attack/innocent.py in a child process: start, then stop() for its figures."""

    def __init__(self, port, watch=(), nick="innocent", source=INNOCENT_ADDRESS, max_seconds=90):
        args = [sys.executable, str(HERE / "innocent.py"), "--port", str(port), "--nick", nick,
                "--source", source, "--max-seconds", str(max_seconds)]
        for text in watch:
            args += ["--watch", text]
        self.process = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        ready, _, _ = select.select([self.process.stdout], [], [], INNOCENT_READY_DEADLINE)
        line = self.process.stdout.readline() if ready else ""
        status = json.loads(line) if line.startswith("{") else {}
        if not status.get("ready"):
            self.process.kill()
            self.process.wait(timeout=5)
            raise RuntimeError(f"the innocent member could not join: {line.strip() or 'no answer'}")

    def stop(self):
        try:
            out, _ = self.process.communicate("stop\n", timeout=INNOCENT_RESULT_DEADLINE)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
            raise RuntimeError("the innocent member did not report within "
                               f"{INNOCENT_RESULT_DEADLINE} s") from None
        lines = [line for line in out.splitlines() if line.startswith("{")]
        if not lines:
            raise RuntimeError(f"the innocent member printed no figures (exit {self.process.returncode})")
        return json.loads(lines[-1])


# MARK: Figures

def percentile(values, fraction):
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def latency_figures(result, start, end):
    """The innocent's echoes for pings sent in [start, end]: p50/p99/max in ms, and how
    many never came back (refused, or lost with the connection)."""
    window = [(t, lat) for t, lat in result["samples"] if start <= t <= end]
    echoed = [lat for _, lat in window if lat is not None]

    def ms(value):
        return None if value is None else round(value * 1000, 2)
    return dict(pings=len(window), lost=len(window) - len(echoed), p50_ms=ms(percentile(echoed, 0.5)),
                p99_ms=ms(percentile(echoed, 0.99)), max_ms=ms(max(echoed) if echoed else None),
                disconnected=result["disconnected"], flooded=result["flooded"], too_fast=result["too_fast"],
                end_barrier=result["end_echo"])


def baseline_figures(result, seconds):
    """The innocent's latency in its first `seconds`, before any attack: the yardstick."""
    figures = latency_figures(result, result["started"], result["started"] + seconds)
    return {key: figures[key] for key in ("pings", "p50_ms", "p99_ms", "max_ms")}


def lines_per_second(result, start, end):
    """Frames other than its own echoes the innocent received per second in [start, end):
    the average over whole seconds, and the busiest second."""
    bins = {int(k): v for k, v in result["bins"].items()}
    seconds = range(int(start), max(int(start) + 1, int(end)))
    counts = [bins.get(s, 0) for s in seconds]
    return dict(average=round(sum(counts) / len(counts), 1), peak=max(counts), seconds=len(counts))


class Scenario:
    """One scenario's report: figures for the JSON line, and checks for the verdict.
    A gated check fails `--check`; an informational one is only reported."""

    def __init__(self, name):
        self.name = name
        self.figures = {}
        self.checks = []          # (description, passed, gated)
        self.started = time.monotonic()
        self._times = os.times()
        self.seconds = None

    def check(self, description, passed, gated=True):
        self.checks.append((description, bool(passed), gated))

    def finish(self):
        """Wall time, and CPU time on this side (the attackers) and of the reaped children
        (the daemon and the innocent member): on a 2-core machine they share two cores."""
        self.seconds = round(time.monotonic() - self.started, 1)
        now = os.times()
        self.figures["cpu_s"] = dict(
            harness=round(max(0.0, now.user + now.system - self._times.user - self._times.system), 1),
            daemon_and_innocent=round(now.children_user + now.children_system
                                      - self._times.children_user - self._times.children_system, 1))
        return self

    @property
    def passed(self):
        return all(ok for _, ok, gated in self.checks if gated)

    def json(self):
        return json.dumps(dict(scenario=self.name, passed=self.passed, seconds=self.seconds,
                               checks=[dict(check=d, passed=ok, gated=g) for d, ok, g in self.checks],
                               **self.figures))


STOP_DEADLINE = 10.0


def stop_daemon(daemon, scenario):
    """Stops the daemon: it must have survived and must exit 0 on SIGTERM within
    STOP_DEADLINE (a loop still busy with an attack's backlog does not)."""
    alive = not daemon.crashed()
    scenario.check("daemon survived", alive)
    status = daemon.process.returncode
    if alive:
        try:
            status = daemon.stop(timeout=STOP_DEADLINE)
        except AssertionError:   # the fixture's "did not exit": it has killed the daemon
            status = None
        scenario.check(f"daemon exited 0 on SIGTERM within {STOP_DEADLINE:g} s (status {status})", status == 0)
    daemon.kill()
    scenario.figures["exit_status"] = status
    return status


__all__ = ["ADMIN_PASSWORD", "AttackDaemon", "baseline_figures", "FdSampler", "InnocentProcess", "Scenario",
           "fd_count",
           "latency_figures", "lines_per_second", "raise_own_descriptor_limit", "source_address",
           "stop_daemon", "wait_until", "yescrypt_hash"]
