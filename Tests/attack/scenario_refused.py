"""Refused connections are free (issue 10, finding 2).

One address opens connections as fast as it can, far past max-connections-per-address,
and holds them without reading (closing the oldest beyond `--hold`), as an attacker
would: every refused connection the daemon keeps while it waits for the peer to close
is a descriptor no limit counts. The daemon runs with max-connections well below its
descriptor limit, so the limits alone should keep it far from EMFILE. Reports the
daemon's peak descriptor count against max-connections, how often it paused accepting,
and how many `connection-limit` lines it logged.
"""

import collections
import time

from cycles import connect_from
from harness import (AttackDaemon, FdSampler, InnocentProcess, Scenario, fd_count, raise_own_descriptor_limit,
                     source_address, stop_daemon, wait_until)
from scenario_login import BASELINE_SECONDS, judge_innocent, quiet

FD_ALLOWANCE = 64           # listeners, epoll, signalfd, timers, stdio, the innocent: a small constant
RELEASE_DEADLINE = 15.0
PER_ADDRESS = 32


def refused_flood(options):
    scenario = Scenario("refused-flood")
    limit = options.max_connections
    daemon = AttackDaemon(["--max-connections", str(limit), "--max-connections-per-address", str(PER_ADDRESS)],
                          descriptor_limit=options.daemon_fd_limit)
    daemon.start()
    own_limit = raise_own_descriptor_limit()
    hold = max(100, min(options.hold, own_limit - 500))
    source = source_address(13, 0)
    errors = collections.Counter()
    try:
        fds_start = fd_count(daemon.pid)
        with FdSampler(daemon.pid) as fds:
            innocent = InnocentProcess(daemon.port)
            quiet(BASELINE_SECONDS)
            held = collections.deque()
            opened = 0
            start = time.monotonic()
            until = start + options.attack_seconds
            while time.monotonic() < until and opened < options.max_refused:
                try:
                    held.append(connect_from(source, daemon.port, 0.05))
                    opened += 1
                except OSError as error:
                    errors[error.strerror or type(error).__name__] += 1
                if len(held) > hold:
                    held.popleft().close()
            end = time.monotonic()
            peak_during = fds.peak
            for sock in held:
                sock.close()
            held.clear()
            wait_until(RELEASE_DEADLINE, lambda: fd_count(daemon.pid) <= fds_start + 1)
            fds_end = fd_count(daemon.pid)
            released = fds_end <= fds_start + 1   # +1: the innocent member is still connected
            result = innocent.stop()
        counts = daemon.event_counts()
        scenario.figures.update(
            max_connections=limit, per_address=PER_ADDRESS, daemon_fd_limit=options.daemon_fd_limit, held=hold,
            attack_s=round(end - start, 1), connections_opened=opened, connect_errors=dict(errors),
            fds=dict(start=fds_start, peak=max(peak_during, fds.peak), end=fds_end),
            log={"connection-limit": counts["connection-limit"], "accept-paused": counts["accept-paused"],
                 "handshake-timeout": counts["handshake-timeout"]})
        bound = limit + FD_ALLOWANCE
        peak = scenario.figures["fds"]["peak"]
        scenario.check(f"peak fds {peak} < max-connections {limit} + {FD_ALLOWANCE}", peak < bound)
        scenario.check("descriptors back to the start value after the flood", released, gated=False)
        judge_innocent(scenario, result, start, end, gate_latency=False)
    finally:
        stop_daemon(daemon, scenario)
    return scenario.finish()
