#!/usr/bin/env python3
"""Restarts that drop no one, under the real systemd: runs INSIDE the sandbox after
e2e_inside.py. MEMBERS members (each from its own loopback address) stay connected while
talkers chat on, through `systemctl restart chatroomd` (the file descriptor store) and
through `kill -9` of the main process (the crash journal). Every member checks that it got
every talker's lines once each, in order; after the restart no notice at all, after the
crash exactly one. Prints the pause and PID 1's CPU time for the store.

Each check prints PASS or FAIL; exit status non-zero if any failed. Every wait has a
deadline; every loop is bounded.
"""
import json
import os
import re
import resource
import selectors
import signal
import socket
import subprocess
import sys
import time

from e2e_inside import check, find_entry, frame, run, show, wait_until
import e2e_inside as e2e

MEMBERS = int(os.environ.get("CHATROOMD_RESTART_MEMBERS", "1000"))
TALKERS = 4
LINES = 40           # per talker, a line every INTERVAL seconds (within flood control: 10 a second)
INTERVAL = 0.15
DEADLINE = 60.0
RESTORED_AFTER_FAILURE = e2e.RESTORED_AFTER_FAILURE


def pid1_cpu_ms():
    fields = open("/proc/1/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def find_entry_after(cursor, **fields):
    """The first journal entry of chatroomd.service after `cursor` with these fields."""
    def matching():
        output = run("journalctl", "-u", "chatroomd.service", "--after-cursor", cursor, "-o", "json", "--no-pager").stdout
        for line in output.splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            if all(entry.get(k) == v for k, v in fields.items()):
                return entry
        return None
    return wait_until(matching, timeout=10)


def parse_frames(buffer):
    lines, offset = [], 0
    while len(buffer) - offset >= 64:
        length = int(buffer[offset:offset + 64])
        if len(buffer) - offset - 64 < length:
            break
        lines.append(buffer[offset + 64:offset + 64 + length].decode())
        offset += 64 + length
    return lines, offset


class Room:
    """MEMBERS connections read by one selector loop; each keeps its unparsed bytes."""

    def __init__(self):
        self.selector = selectors.DefaultSelector()
        self.sockets = []
        self.buffers = []
        self.closed = set()

    def connect_all(self):
        for i in range(MEMBERS):
            source = f"127.1.{i // 250}.{i % 250 + 1}"
            sock = socket.create_connection(("127.0.0.1", 12000), timeout=15, source_address=(source, 0))
            sock.sendall(frame(f"NICK:{'t' if i < TALKERS else 'm'}{i}"))
            sock.setblocking(False)
            self.selector.register(sock, selectors.EVENT_READ, i)
            self.sockets.append(sock)
            self.buffers.append(bytearray())

    def pump(self, timeout):
        for key, _ in self.selector.select(timeout):
            i = key.data
            try:
                data = self.sockets[i].recv(1 << 16)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                self.closed.add(i)
                self.selector.unregister(self.sockets[i])
                continue
            self.buffers[i] += data

    def lines(self, i):
        return parse_frames(bytes(self.buffers[i]))[0]

    def everyone_saw(self, text):
        encoded = text.encode()
        return all(encoded in self.buffers[i] for i in range(MEMBERS) if i not in self.closed)

    def pump_until(self, predicate, timeout=DEADLINE):
        deadline = time.monotonic() + timeout
        while not predicate() and time.monotonic() < deadline:
            self.pump(0.05)
        return predicate()

    def barrier(self, tag):
        """Every talker says `tag`; returns once every member has all of them."""
        for t in range(TALKERS):
            self.sockets[t].sendall(frame(tag))
        return self.pump_until(lambda: all(self.everyone_saw(f"t{t}: {tag}") for t in range(TALKERS)))

    def reset(self):
        for buffer in self.buffers:
            buffer.clear()

    def chat_through(self, disruption, at_line, reset=True):
        """Talkers send LINES lines each; `disruption()` runs once at line `at_line`."""
        if reset:
            self.reset()
        next_time = time.monotonic()
        for n in range(LINES):
            if n == at_line:
                disruption()
            for t in range(TALKERS):
                self.sockets[t].setblocking(True)
                self.sockets[t].sendall(frame(f"line {n}"))
                self.sockets[t].setblocking(False)
            next_time += INTERVAL
            while time.monotonic() < next_time:
                self.pump(max(0.0, next_time - time.monotonic()))

    def verify(self, what, allowed_notices):
        """Each member got every talker's lines once, in order, and only `allowed_notices`."""
        expected = {t: [f"line {n}" for n in range(LINES)] + ["end"] for t in range(TALKERS)}
        wrong = []
        for i in range(MEMBERS):
            if i in self.closed:
                wrong.append(f"member {i} was disconnected")
                continue
            got = {t: [] for t in range(TALKERS)}
            notices = []
            for line in self.lines(i):
                match = re.match(r"^t(\d+): (.*)$", line)
                if match:
                    got[int(match.group(1))].append(match.group(2))
                elif "joined" in line or "left" in line or line.startswith("[CLIENT DISCONNECT"):
                    continue  # presence notices of the joins before, coalesced and sent late
                else:
                    notices.append(line)
            if got != expected:
                wrong.append(f"member {i}: talker lines differ ({ {t: len(v) for t, v in got.items()} })")
            if notices != allowed_notices:
                wrong.append(f"member {i}: notices {notices!r}")
        check(not wrong, f"{what}: all {MEMBERS} members stayed and got every line once, in order "
                         f"({'no notice' if not allowed_notices else 'one notice'})", "; ".join(wrong[:5]))


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    run("systemctl", "start", "chatroomd.socket", check_exit=True)
    cpu_before = pid1_cpu_ms()
    room = Room()
    room.connect_all()
    check(wait_until(lambda: show("chatroomd.service", "SubState") == "running"), "chatroomd.service runs")
    check(room.barrier("ready"), f"{MEMBERS} members joined and hear the talkers")
    cpu_stored = pid1_cpu_ms()
    results = {"members": MEMBERS, "pid1_cpu_ms_storing": round(cpu_stored - cpu_before)}
    print(f"INFO: PID 1 CPU time while {MEMBERS} connections were stored: {cpu_stored - cpu_before:.0f} ms", flush=True)

    # 1. chatroomctl restart: the exec in place, nobody notices.
    restarted = []
    room.chat_through(lambda: restarted.append(subprocess.Popen(["chatroomctl", "restart"], stdout=subprocess.PIPE, text=True)),
                      LINES // 3)
    answer = restarted[0].communicate(timeout=DEADLINE)[0] if restarted else ""
    check(answer.startswith(f"Restarted: {MEMBERS} connection(s)"), "chatroomctl restart hands every connection over", answer)
    room.barrier("end")
    room.verify("chatroomctl restart", [])
    entry = find_entry(CHAT_EVENT="handover-restored", CHAT_CONNECTIONS=str(MEMBERS))
    if entry:
        results.update(exec_pause_ms=int(entry.get("CHAT_DURATION_MS", -1)), exec_adopt_ms=int(entry.get("CHAT_ADOPT_MS", -1)),
                       exec_started_ms=int(entry.get("CHAT_STARTED_MS", -1)), exec_room_ms=int(entry.get("CHAT_ROOM_MS", -1)))
    cursor = run("journalctl", "--show-cursor", "-n", "0", "--no-pager").stdout.split("-- cursor: ")[-1].strip()

    # 2. systemctl restart: through the store, nobody notices.
    pid = show("chatroomd.service", "MainPID")
    restart = []
    room.chat_through(lambda: restart.append(subprocess.Popen(["systemctl", "restart", "chatroomd.service"])), LINES // 3)
    check(restart and restart[0].wait(timeout=DEADLINE) == 0, "systemctl restart chatroomd succeeds")
    room.barrier("end")
    check(show("chatroomd.service", "MainPID") not in ("0", pid), "a new main process serves")
    room.verify("systemctl restart", [])
    entry = find_entry_after(cursor, CHAT_EVENT="handover-restored", CHAT_CONNECTIONS=str(MEMBERS))
    check(entry is not None, f"the new process took over all {MEMBERS} connections")
    if entry:
        print(f"INFO: pause at {MEMBERS} members through systemctl restart: {entry.get('CHAT_DURATION_MS')} ms "
              f"(the new process started {entry.get('CHAT_STARTED_MS')} ms after the old one stopped reading)", flush=True)
        results.update(pause_ms=int(entry.get("CHAT_DURATION_MS", -1)), started_ms=int(entry.get("CHAT_STARTED_MS", -1)),
                       adopt_ms=int(entry.get("CHAT_ADOPT_MS", -1)), room_ms=int(entry.get("CHAT_ROOM_MS", -1)))
    handed = find_entry(CHAT_EVENT="handover", CHAT_REASON="SIGUSR1")
    if handed:
        results["snapshot_ms"] = int(handed.get("CHAT_SNAPSHOT_MS", -1))
    results["pid1_cpu_ms_restart"] = round(pid1_cpu_ms() - cpu_stored)
    print(f"INFO: PID 1 CPU time for the restart: {results['pid1_cpu_ms_restart']} ms", flush=True)

    # 3. kill -9: the crash journal says who everyone was; each member is told once.
    pid = show("chatroomd.service", "MainPID")
    room.reset()
    killed_at = time.monotonic()
    os.kill(int(pid), signal.SIGKILL)
    check(bool(wait_until(lambda: show("chatroomd.service", "SubState") == "running"
                          and show("chatroomd.service", "MainPID") not in ("0", pid), timeout=30)),
          "after kill -9 systemd restarted chatroomd")
    check(room.pump_until(lambda: room.everyone_saw(RESTORED_AFTER_FAILURE)), "every member is told of the crash once")
    results["crash_to_everyone_told_ms"] = round((time.monotonic() - killed_at) * 1000)
    room.chat_through(lambda: None, -1, reset=False)
    room.barrier("end")
    room.verify("kill -9", [RESTORED_AFTER_FAILURE])
    crash = find_entry(CHAT_EVENT="crash-restored", CHAT_CONNECTIONS=str(MEMBERS))
    check(crash is not None, f"the journal records {MEMBERS} connections restored after the crash")
    if crash:
        results["crash_restore_ms"] = int(crash.get("CHAT_DURATION_MS", -1))
    print(f"INFO: {json.dumps(results)}", flush=True)
    if os.environ.get("CHATROOMD_RESTART_JSON"):
        with open(os.environ["CHATROOMD_RESTART_JSON"], "w") as out:
            json.dump(results, out)

    for sock in room.sockets:
        sock.close()
    print(f"restart: {e2e.passed} passed, {e2e.failed} failed", flush=True)
    return 1 if e2e.failed else 0


if __name__ == "__main__":
    sys.exit(main())
