#!/usr/bin/env python3
"""Attacks on chatroomd's loop and limits (issue 10), each against a fresh daemon it
spawns on 127.0.0.1, with an innocent member measuring its echo latency alongside.

Prints one table, then one JSON line per scenario. Exit status: with --check, 1 when a
gated target is missed (or a scenario could not run); without it, 0 whatever it found.
Every scenario is bounded in time (about 20 s each, about 2 minutes in all).
"""

import argparse
import os
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from harness import Scenario  # noqa: E402
from scenario_churn import join_churn, muted_rejoin  # noqa: E402
from scenario_login import login_burst, login_flood, login_timing  # noqa: E402
from scenario_refused import refused_flood  # noqa: E402

SCENARIOS = {
    "login-burst": login_burst,
    "login-flood": login_flood,
    "login-timing": login_timing,
    "refused-flood": refused_flood,
    "join-churn": join_churn,
    "muted-rejoin": muted_rejoin,
}


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", default=os.environ.get("CHATROOMD_BIN"),
                        help="the chatroomd to attack (default $CHATROOMD_BIN, else .build/release/chatroomd)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a gated target is missed")
    parser.add_argument("--only", action="append", choices=sorted(SCENARIOS), help="run only these (repeatable)")
    parser.add_argument("--attack-seconds", type=float, default=10.0, help="length of each timed attack (default 10)")
    parser.add_argument("--login-addresses", type=int, default=300, help="login-burst source addresses (default 300)")
    parser.add_argument("--burst-deadline", type=float, default=20.0,
                        help="login-burst: longest wait for every attacker's answers (default 20 s)")
    parser.add_argument("--flood-addresses", type=int, default=370, help="login-flood source addresses (default 370)")
    parser.add_argument("--flood-slots", type=int, default=64, help="login-flood concurrent connections (default 64)")
    parser.add_argument("--timing-probes", type=int, default=10, help="login-timing addresses (default 10)")
    parser.add_argument("--max-connections", type=int, default=1000, help="refused-flood: the daemon's max-connections")
    parser.add_argument("--daemon-fd-limit", type=int, default=4096, help="refused-flood: the daemon's RLIMIT_NOFILE")
    parser.add_argument("--hold", type=int, default=6000, help="refused-flood: connections the attacker holds open")
    parser.add_argument("--max-refused", type=int, default=300_000, help="refused-flood: most connections opened")
    parser.add_argument("--rejoins", type=int, default=5, help="muted-rejoin: rejoins under new nicks (default 5)")
    args = parser.parse_args()
    for name in ("attack_seconds", "burst_deadline"):
        if not 1 <= getattr(args, name) <= 60:
            parser.error(f"--{name.replace('_', '-')} must be between 1 and 60 seconds")
    if not 1 <= args.login_addresses <= 5000 or not 1 <= args.flood_addresses <= 5000:
        parser.error("--login-addresses and --flood-addresses must be between 1 and 5000")
    if not 1 <= args.flood_slots <= 1000 or not 1 <= args.timing_probes <= 100 or not 1 <= args.rejoins <= 50:
        parser.error("--flood-slots up to 1000, --timing-probes up to 100, --rejoins up to 50")
    if args.daemon_fd_limit < 256 or args.max_connections < 1:
        parser.error("--daemon-fd-limit must be at least 256 and --max-connections at least 1")
    binary = args.binary or str(HERE.parents[1] / ".build" / "release" / "chatroomd")
    if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
        parser.error(f"no chatroomd at {binary}: build it (`swift build -c release`) or pass --binary")
    os.environ["CHATROOMD_BIN"] = binary   # the fixture and `hash-password` read it
    return args


def run(name, options):
    try:
        return SCENARIOS[name](options)
    except Exception as error:   # a scenario that cannot run is a failure to report, not a crash
        scenario = Scenario(name)
        scenario.figures["error"] = f"{type(error).__name__}: {error}"[:500]
        scenario.figures["traceback"] = traceback.format_exc(limit=4)[-1500:]
        scenario.check("scenario ran", False)
        return scenario.finish()


def summary(scenario):
    """The one-cell headline of a scenario."""
    f = scenario.figures
    if "error" in f:
        return f["error"][:70]
    if scenario.name == "login-burst":
        answered = (f"all answered after {f['all_answered_after_s']} s" if f["all_answered_after_s"] is not None
                    else f"{f['answered']}/{f['joined']} answered by the deadline")
        return f"{f['checks_sent']} checks from {f['joined']} members; {answered}"
    if scenario.name == "login-flood":
        return f"{f['greetings']} greetings, {f['checks_per_s']} checks/s, outcomes {f['outcomes']}"
    if scenario.name == "login-timing":
        return f"known {f['known_median_ms']} ms vs unknown {f['unknown_median_ms']} ms (median)"
    if scenario.name == "refused-flood":
        fds = f["fds"]
        return (f"fds peak {fds['peak']} (max-conn {f['max_connections']}), {f['log']['connection-limit']} limit "
                f"lines, {f['log']['accept-paused']} pauses")
    if scenario.name == "join-churn":
        rate = f["bystander_lines_per_s"]
        return (f"{f['outcomes'].get('joined', 0)} joins ({f['joins_per_s']}/s); bystander {rate['average']} "
                f"lines/s, peak {rate['peak']}")
    if scenario.name == "muted-rejoin":
        return (f"{f['rejoins']} rejoins: room saw {f['muted_joins_seen']} joins, {f['muted_leaves_seen']} leaves, "
                f"{f['muted_lines_seen']} lines")
    return ""


def table(scenarios):
    header = f"{'scenario':<14} {'verdict':<7} {'secs':>5} {'cpu a/d':>9} {'base p99':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'lost':>5} " \
             f"{'cut':>4}  headline"
    lines = [header, "-" * len(header)]
    for s in scenarios:
        inn = s.figures.get("innocent", {})
        base = s.figures.get("baseline", {})
        cut = "" if not inn else ("yes" if inn.get("disconnected") else "no")
        lines.append(f"{s.name:<14} {'pass' if s.passed else 'FAIL':<7} {s.seconds or 0:>5} {_cpu(s):>9} {_cell(base.get('p99_ms')):>8} "
                     f"{_cell(inn.get('p50_ms')):>8} {_cell(inn.get('p99_ms')):>8} {_cell(inn.get('max_ms')):>8} "
                     f"{_cell(inn.get('lost')):>5} {cut:>4}  {summary(s)}")
        for description, passed, gated in s.checks:
            if not passed:
                lines.append(f"{'':<14}   missed{'' if gated else ' (not gated)'}: {description}")
    return "\n".join(lines)


def _cpu(scenario):
    cpu = scenario.figures.get("cpu_s", {})
    return f"{cpu.get('harness', '-')}/{cpu.get('daemon_and_innocent', '-')}"


def _cell(value):
    return "-" if value is None else str(value)


def main():
    options = parse_arguments()
    began = time.monotonic()
    scenarios = []
    for name in options.only or list(SCENARIOS):
        print(f"attack: {name} ...", file=sys.stderr, flush=True)
        scenarios.append(run(name, options))
    print(table(scenarios))
    print(f"total {time.monotonic() - began:.0f} s. Innocent member: one line every 100 ms; latency = its echo, "
          "base = before the attack. cpu a/d: CPU seconds of the attackers / of the daemon and the innocent.")
    for scenario in scenarios:
        print(scenario.json())
    failed = [s.name for s in scenarios if not s.passed]
    if options.check and failed:
        print(f"attack: targets missed in {', '.join(failed)}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
