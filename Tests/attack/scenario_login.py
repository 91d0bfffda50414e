"""Password checks against the loop (issue 10, finding 1).

- login-burst: N addresses join, then each sends three `/login admin wrong` frames in one
  write, all within a few milliseconds: can one loop turn run hundreds of ~20 ms checks?
- login-flood: `admin:wrong` greetings from M addresses in a fixed number of concurrent
  connections for a few seconds: does a steady stream of checks hold the room back?
- login-timing: does the answer's delay tell a real account name from an unknown one?

Under each attack the innocent member's echo latency is measured; it must stay low
(p99 < 50 ms) and it must not be disconnected.
"""

import random
import socket
import statistics
import time

from harness import (AttackDaemon, baseline_figures, FdSampler, InnocentProcess, Scenario, latency_figures,
                     source_address, stop_daemon, wait_until, yescrypt_hash)
from cycles import Cycler
from loadclients import Client, Loop, frame
from original_client import OriginalClient
import texts

P99_TARGET_MS = 50.0
BASELINE_SECONDS = 1.5
AFTERMATH_SECONDS = 2.0      # after the attack ends, keep measuring: buffered lines come out now
JOIN_DEADLINE = 20.0
TIMING_DIFFERENCE_MS = 5.0


def quiet(seconds):
    """Lets the innocent member measure for `seconds` (a measurement window, not a wait)."""
    until = time.monotonic() + seconds
    wait_until(seconds, lambda: time.monotonic() >= until)


def judge_innocent(scenario, result, start, end, gate_latency=True):
    """The innocent member's figures for pings sent in [start, end]. The p99 target is the
    login scenarios'; elsewhere it is reported only."""
    figures = latency_figures(result, start, end)
    scenario.figures["innocent"] = figures
    scenario.figures["baseline"] = baseline_figures(result, BASELINE_SECONDS)
    p99 = figures["p99_ms"]
    scenario.check(f"innocent p99 < {P99_TARGET_MS:g} ms (was {p99} ms)", p99 is not None and p99 < P99_TARGET_MS,
                   gated=gate_latency)
    scenario.check("innocent not disconnected", not figures["disconnected"])
    scenario.check("innocent lost no lines", figures["lost"] == 0, gated=False)


def login_burst(options):
    scenario = Scenario("login-burst")
    daemon = AttackDaemon()
    daemon.start()
    try:
        with FdSampler(daemon.pid) as fds:
            innocent = InnocentProcess(daemon.port)
            quiet(BASELINE_SECONDS)
            loop = Loop(random.Random(10))
            attackers = []
            for i in range(options.login_addresses):
                client = Client(loop, f"lb{i}", "attacker", source_address(10, i), keep_frames=4)
                client.login_replies = 0
                client.on_text = count_login_reply
                client.connect(daemon.port)
                client.send_bytes(frame(texts.NICK_PREFIX + client.nick))
                attackers.append(client)
            loop.pump(time.monotonic() + JOIN_DEADLINE, lambda: all(c.joined_at or c.closed for c in attackers))
            joined = [c for c in attackers if c.joined_at is not None]
            burst = frame("/login admin wrong") * 3
            start = time.monotonic()
            for client in joined:
                client.send_bytes(burst)
            loop.pump(start + options.burst_deadline,
                      lambda: all(c.login_replies >= 3 or c.closed for c in joined))
            end = time.monotonic()
            answered = sum(c.login_replies >= 3 for c in joined)
            quiet(AFTERMATH_SECONDS)
            result = innocent.stop()
            loop.close_all()
        counts = daemon.event_counts()
        scenario.figures.update(
            addresses=options.login_addresses, joined=len(joined), checks_sent=3 * len(joined),
            all_answered_after_s=round(end - start, 2) if answered == len(joined) else None,
            answered=answered, peak_fds=fds.peak, log=dict(login_failed=counts["admin-login-failed"],
                                                           flood_disconnect=counts["flood-disconnect"]))
        scenario.check(f"all {len(joined)} attackers answered within {options.burst_deadline:g} s",
                       answered == len(joined), gated=False)
        judge_innocent(scenario, result, start, end + AFTERMATH_SECONDS)
    finally:
        stop_daemon(daemon, scenario)
    return scenario.finish()


def count_login_reply(client, text):
    if texts.is_login_reply(text):
        client.login_replies += 1


def login_flood(options):
    scenario = Scenario("login-flood")
    daemon = AttackDaemon()
    daemon.start()
    outcomes = {"incorrect": 0, "throttled": 0, "other": 0}

    def finished(n, frames, seconds):
        first = frames[0] if frames else ""
        kind = ("incorrect" if first == texts.INCORRECT_PASSWORD
                else "throttled" if first.startswith(texts.LOGIN_THROTTLED_PREFIX) else "other")
        outcomes[kind] += 1
    try:
        with FdSampler(daemon.pid) as fds:
            innocent = InnocentProcess(daemon.port)
            quiet(BASELINE_SECONDS)
            addresses = options.flood_addresses
            cycler = Cycler(daemon.port, options.flood_slots, source=lambda n: source_address(11, n % addresses),
                            payload=lambda n: frame(texts.ADMIN_PREFIX + "wrong"), finished=finished)
            start = time.monotonic()
            spent = cycler.run(options.attack_seconds, max_cycles=200_000)
            end = time.monotonic()
            quiet(AFTERMATH_SECONDS)
            result = innocent.stop()
        counts = daemon.event_counts()
        scenario.figures.update(
            addresses=addresses, slots=options.flood_slots, attack_s=round(spent, 1),
            greetings=cycler.started, answered=cycler.completed, stuck=cycler.stuck,
            connect_errors=cycler.connect_errors, outcomes=outcomes,
            checks_per_s=round(outcomes["incorrect"] / spent, 1), peak_fds=fds.peak,
            log=dict(login_failed=counts["admin-login-failed"], flood_disconnect=counts["flood-disconnect"]))
        judge_innocent(scenario, result, start, end)
    finally:
        stop_daemon(daemon, scenario)
    return scenario.finish()


def login_timing(options):
    """Alternates a real and an unknown account name from fresh addresses (two failures
    each, under the throttle's free attempts) and compares the median reply times."""
    scenario = Scenario("login-timing")
    daemon = AttackDaemon(["--admin", f"moderator {yescrypt_hash()}"])
    daemon.start()
    times = {"known": [], "unknown": []}
    try:
        for k in range(options.timing_probes):
            client = OriginalClient.connect(daemon.port, source=source_address(12, k))
            # The original client writes header and payload separately: without this, Nagle
            # and delayed ACKs would add 40 ms to every reply and hide the difference.
            client.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                nick = f"tm{k}"
                client.join(nick)
                client.recv_until(texts.joined(nick))
                order = ["known", "unknown"] if k % 2 == 0 else ["unknown", "known"]
                for kind in order:
                    account = "moderator" if kind == "known" else f"nosuch{k}"
                    began = time.perf_counter()
                    client.send(f"/login {account} wrong")
                    client.recv_until(texts.is_login_reply)
                    times[kind].append(time.perf_counter() - began)
            except (AssertionError, socket.timeout, OSError) as error:
                scenario.figures.setdefault("errors", []).append(f"probe {k}: {error}"[:200])
            finally:
                client.close()
    finally:
        stop_daemon(daemon, scenario)
    known = statistics.median(times["known"]) * 1000 if times["known"] else None
    unknown = statistics.median(times["unknown"]) * 1000 if times["unknown"] else None
    scenario.figures.update(probes=options.timing_probes, known_median_ms=round(known, 2) if known else None,
                            unknown_median_ms=round(unknown, 2) if unknown else None)
    scenario.check("timing probes answered", known is not None and unknown is not None)
    if known is not None and unknown is not None:
        scenario.check(f"known and unknown names answer alike (|{known:.1f} - {unknown:.1f}| < "
                       f"{TIMING_DIFFERENCE_MS:g} ms)", abs(known - unknown) < TIMING_DIFFERENCE_MS, gated=False)
    return scenario.finish()

