#!/usr/bin/env python3
"""chatroom-bench against one chatroomd, then against two chatroomd joined by Redis
(docs/benchmarks.md, "One room on two nodes"). Every process is started here and
stopped after each run; Redis runs on a Unix socket without persistence. CPU time is
summed over every chatroomd process and Redis (`--server-pid`, `--also-pid`).

Usage: Tests/bench/cluster_bench.py [--duration S] [--runs K] [--bin DIR] [--only SCENARIO] [--pin]
       [--node-option=OPTION]
Prints each run's JSON line (from chatroom-bench) prefixed with its label."""

import argparse
import json
import os
import re
import signal
import subprocess
import tempfile
import threading

LIMITS = ["--max-connections", "1000000", "--max-connections-per-address", "1000000",
          "--accepts-per-address-per-second", "off", "--joins-per-address-per-minute", "off",
          "--presence-rate", "off", "--flood-rate", "off", "--log-level", "notice"]
DEADLINE = 20.0


def wait_for_line(process, pattern, deadline=DEADLINE):
    """Reads the process's output (stdout and stderr) until a line matches; returns the match (or raises)."""
    found = {}
    done = threading.Event()

    def read():
        for raw in iter(process.stdout.readline, b""):
            line = raw.decode(errors="replace")
            match = re.search(pattern, line)
            if match and not done.is_set():
                found["match"] = match
                done.set()
        done.set()
    threading.Thread(target=read, daemon=True).start()
    if not done.wait(deadline) or "match" not in found:
        raise SystemExit(f"no line matching {pattern!r} within {deadline} s")
    return found["match"]


class Processes:
    def __init__(self):
        self.running = []

    def start(self, args, ready):
        process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.running.append(process)
        return process, wait_for_line(process, ready)

    def stop_all(self):
        for process in self.running:
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
                process.wait(timeout=10)
        self.running = []


def run(label, bench, args):
    """`bench`: the command (chatroom-bench, after taskset when pinned)."""
    result = subprocess.run(bench + args, capture_output=True, text=True, timeout=600)
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    if result.returncode != 0 or not lines:
        raise SystemExit(f"{label}: chatroom-bench failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    print(label, lines[-1], flush=True)
    return json.loads(lines[-1])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", default="10")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--bin", default=".build/release")
    parser.add_argument("--pin", action="store_true",
                        help="the load generator on CPU 0, every chatroomd and Redis on CPU 1 (taskset)")
    parser.add_argument("--node-option", action="append", default=[],
                        help="an extra option for the two nodes, e.g. --node-option=--redis-coalesce=off")
    parser.add_argument("--only", action="append", choices=["closed", "rate100", "rate100-n100", "churn"],
                        help="run only this scenario (repeatable); all three by default")
    options = parser.parse_args()
    daemon = os.path.join(options.bin, "chatroomd")
    bench = os.path.join(options.bin, "chatroom-bench")
    scenarios = {
        "closed": ["fanout", "-n", "1000", "-s", "10", "--window", "64", "--duration", options.duration],
        "rate100": ["fanout", "-n", "1000", "-s", "10", "--rate", "100", "--duration", options.duration],
        # The hop through Redis alone: a room small enough that fanning a line out to every
        # member (1,000 writes, about 5 ms here) does not swamp it.
        "rate100-n100": ["fanout", "-n", "100", "-s", "10", "--rate", "100", "--duration", options.duration],
        "churn": ["churn", "--concurrency", "8", "--duration", options.duration],
    }
    servers = ["taskset", "-c", "1"] if options.pin else []
    generator = ["taskset", "-c", "0"] if options.pin else []
    processes = Processes()
    try:
        for run_number in range(options.runs):
            for name, scenario in scenarios.items():
                if options.only and name not in options.only:
                    continue
                # One node alone.
                node, match = processes.start(servers + [daemon, "--listen", "127.0.0.1:0"] + LIMITS, r"listening on 127\.0\.0\.1:(\d+)")
                run(f"single {name} {run_number}", generator + [bench], scenario + ["--connect", f"127.0.0.1:{match.group(1)}",
                                                                      "--server-pid", str(node.pid)])
                processes.stop_all()
                # Two nodes and Redis.
                with tempfile.TemporaryDirectory(prefix="cluster-bench-") as directory:
                    socket_path = os.path.join(directory, "redis.sock")
                    redis, _ = processes.start(servers + ["redis-server", "--port", "0", "--unixsocket", socket_path, "--save", "",
                                                "--appendonly", "no", "--dir", directory, "--logfile", ""],
                                               r"(?i)ready to accept connections")
                    ports, pids = [], []
                    for node_name in ("nodeA", "nodeB"):
                        node, _ = processes.start(servers + [daemon, "--listen", "127.0.0.1:0", "--redis", f"unix:{socket_path}",
                                                   "--node-name", node_name, "--log-level", "info"] + LIMITS[:-2] + options.node_option,
                                                  r"Linked to the cluster")
                        ports.append(None)
                        pids.append(node.pid)
                    # The port: from /proc (the log line was consumed while waiting for the link).
                    for index, pid in enumerate(pids):
                        ports[index] = listening_port(pid)
                    run(f"cluster {name} {run_number}", generator + [bench],
                        scenario + ["--connect", f"127.0.0.1:{ports[0]}", "--server-pid", str(pids[0]),
                                    "--also-connect", f"127.0.0.1:{ports[1]}", "--also-pid", str(pids[1]),
                                    "--also-pid", str(redis.pid)])
                    processes.stop_all()
    finally:
        processes.stop_all()


def listening_port(pid):
    """The TCP port the process listens on (its only listener), from /proc/net/tcp."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    with open("/proc/net/tcp") as table:
        for line in table.readlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:
                return int(fields[1].split(":")[1], 16)
    raise SystemExit(f"no listener found for process {pid}")


if __name__ == "__main__":
    main()
