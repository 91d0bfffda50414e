#!/usr/bin/env python3
"""A cluster node restarted under the real systemd: runs INSIDE the sandbox (cluster.sh),
after cluster_inside.py. Two template instances, each reached directly on its own extra
port (127.0.0.1:1200N, a drop-in cluster.sh adds to chatroomd@.socket), with MEMBERS
members each; TALKERS of each node chat across the nodes while node 1 is

1. restarted by `systemctl restart chatroomd@1` (SIGUSR1, the file descriptor store): its
   members keep their sockets, nobody anywhere sees a notice, nicknames stay held, every
   line said on node 1 reaches everyone once and in order; what node 1's members may miss
   is exactly this: lines said on node 2 from the moment node 1's old process stops
   reading until its successor has linked (one contiguous run of node 2's lines, sent
   within that window), while node 2's members miss nothing;
2. killed (`kill -9` of its main process): systemd starts it again a second later, its
   members are restored from the crash journal and told so once; it links again before
   its 3 s lease runs out, so node 2's members see nothing. Should it link too late (a busy
   machine), node 2 reaps it: its members are announced as gone there and as joined again
   once it links; the check follows what node 2's journal says happened. Lost: lines said
   in node 1's last moments (their echo had not come back, or they had not reached
   Redis), and, for node 1's members, node 2's lines said until node 1 linked again.

Every line's send time is recorded; a line missing for a member must fall in the window
allowed for its case. Each check prints PASS or FAIL; exit status non-zero if any failed.
Every wait has a deadline; every loop is bounded.
"""
import json
import os
import re
import selectors
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e_inside as e2e  # noqa: E402
from e2e_inside import check, frame, run, show, wait_until, RESTORED_AFTER_FAILURE  # noqa: E402

MEMBERS = 4          # per node
TALKERS = 2          # the first TALKERS members of each node talk
LINES = 30           # per talker, a line every INTERVAL seconds (within flood control)
INTERVAL = 0.15
DEADLINE = 30.0
EARLY = 1.0          # a line sent this long before a disruption may still be in flight
NICKS = {node: [f"{'ab'[node - 1]}{i}" for i in range(MEMBERS)] for node in (1, 2)}
NODE_OF = {nick: node for node, nicks in NICKS.items() for nick in nicks}
TALKING = [nick for node in (1, 2) for nick in NICKS[node][:TALKERS]]
IN_USE = " is already in use. Choose another one."
LEFT = "[CLIENT DISCONNECT - {}]"
JOINED = "{} has joined the chat!"


def parse_frames(buffer):
    lines, offset = [], 0
    while len(buffer) - offset >= 64:
        length = int(buffer[offset:offset + 64])
        if len(buffer) - offset - 64 < length:
            break
        lines.append(buffer[offset + 64:offset + 64 + length].decode())
        offset += 64 + length
    return lines


def cursor():
    """Now, as the journal's timestamps count it. (A cursor would do, but `journalctl -u
    chatroomd@2.service --after-cursor` found nothing here once the dynamic users' entries
    went to their own journal files.)"""
    return int(time.time() * 1e6)


def entries(instance, after, **fields):
    """The unit's journal entries since `after` (from `cursor()`) with these fields."""
    output = run("journalctl", "-u", f"chatroomd@{instance}.service", "-o", "json", "--no-pager").stdout
    found = []
    for line in output.splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        if int(entry.get("__REALTIME_TIMESTAMP", 0)) > after and all(entry.get(k) == v for k, v in fields.items()):
            found.append(entry)
    return found


def process_gone(pid):
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(") ", 1)[1][0] == "Z"
    except OSError:
        return True


def entry_time(entry):
    return int(entry["__REALTIME_TIMESTAMP"]) / 1e6


class Members:
    """Every member's connection, read by one selector loop, with every byte kept."""

    def __init__(self):
        self.selector = selectors.DefaultSelector()
        self.socks = {}
        self.buffers = {}
        self.closed = set()
        self.sent_at = {}  # (nick, text) -> time.time() when sent

    def join_all(self):
        for node in (1, 2):
            for index, nick in enumerate(NICKS[node]):
                sock = socket.create_connection(("127.0.0.1", 12000 + node), timeout=15,
                                                source_address=(f"127.3.{node}.{index + 1}", 0))
                sock.sendall(frame(f"NICK:{nick}"))
                sock.setblocking(False)
                self.selector.register(sock, selectors.EVENT_READ, nick)
                self.socks[nick] = sock
                self.buffers[nick] = bytearray()
                if not self.pump_until(lambda: JOINED.format(nick) in self.lines(nick)):
                    return check(False, f"{nick} joins node {node}", f"{self.lines(nick)}")
        return check(True, f"{MEMBERS} members joined each node through its own port")

    def pump(self, timeout):
        for key, _ in self.selector.select(timeout):
            nick = key.data
            try:
                data = self.socks[nick].recv(1 << 16)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                self.closed.add(nick)
                self.selector.unregister(self.socks[nick])
                continue
            self.buffers[nick] += data

    def pump_until(self, predicate, timeout=DEADLINE):
        deadline = time.monotonic() + timeout
        while not predicate() and time.monotonic() < deadline:
            self.pump(0.05)
        return predicate()

    def lines(self, nick):
        return parse_frames(bytes(self.buffers[nick]))

    def say(self, nick, text):
        self.sent_at[(nick, text)] = time.time()
        self.socks[nick].setblocking(True)
        self.socks[nick].sendall(frame(text))
        self.socks[nick].setblocking(False)

    def barrier(self, tag):
        """Every talker says `tag`; true once every member has all of them."""
        for nick in TALKING:
            self.say(nick, tag)
        wanted = [f"{nick}: {tag}" for nick in TALKING]
        return self.pump_until(lambda: all(all(w in self.lines(m) for w in wanted) for m in self.socks if m not in self.closed))

    def chat_through(self, disruption, at_line):
        """Every talker says LINES lines; `disruption()` runs once, at line `at_line`."""
        for buffer in self.buffers.values():
            buffer.clear()
        self.sent_at.clear()
        next_time = time.monotonic()
        for n in range(LINES):
            if n == at_line:
                disruption()
            for nick in TALKING:
                self.say(nick, f"line {n}")
            next_time += INTERVAL
            while time.monotonic() < next_time:
                self.pump(max(0.0, next_time - time.monotonic()))

    def heard(self, member):
        """(talker lines in arrival order, every other line)."""
        talk, other = [], []
        for line in self.lines(member):
            match = re.match(r"^([ab]\d+): (.*)$", line)
            if match and match.group(1) in TALKING:
                talk.append((match.group(1), match.group(2)))
            else:
                other.append(line)
        return talk, other


def verify_lines(members, what, may_miss):
    """Every member got every talker's lines once each, in order, in the same order as
    everyone else; a line may be missing only where `may_miss(member_node, talker_node,
    sent_at)` allows. Returns node -> the sequence that node's members heard."""
    expected = sorted(members.sent_at, key=members.sent_at.get)
    wrong, heard = [], {}
    for member in members.socks:
        node = NODE_OF[member]
        if member in members.closed:
            wrong.append(f"{member} was disconnected")
            continue
        talk, _ = members.heard(member)
        if len(set(talk)) != len(talk):
            wrong.append(f"{member} got a line twice")
        for talker in TALKING:
            mine = [text for who, text in talk if who == talker]
            order = [text for who, text in expected if who == talker]
            if mine != [text for text in order if text in mine] or len(mine) != len(set(mine)):
                wrong.append(f"{member} got {talker}'s lines out of order")
        for line in expected:
            if line not in talk and not may_miss(node, NODE_OF[line[0]], members.sent_at.get(line, 0)):
                wrong.append(f"{member} (node {node}) missed {line[0]}: {line[1]}")
        if heard.setdefault(node, talk) != talk:
            wrong.append(f"{member} heard another sequence than the other members of node {node}")
    if 1 in heard and 2 in heard:
        both = set(heard[1]) & set(heard[2])
        if [l for l in heard[1] if l in both] != [l for l in heard[2] if l in both]:
            wrong.append("the nodes' members heard the lines they share in different orders")
    check(not wrong, f"{what}: every member kept its connection; every line arrived once, in one order for all, "
                     f"none missing outside the allowed window", "; ".join(wrong[:6]))
    return heard


def missing(heard, node):
    """The lines node `node`'s members did not hear, in the order node 2's members heard them."""
    return [line for line in heard.get(2, []) if line not in set(heard.get(node, []))]


def nicknames_held(host, what):
    """A newcomer on either node cannot take any member's nickname; node 2 lists node 1's
    members with their node."""
    refused = []
    for node, other in ((1, 2), (2, 1)):
        for nick in NICKS[other][:2]:
            client = e2e.Client(source=f"127.4.{node}.1", port=12000 + node)
            client.send(f"NICK:{nick}")
            try:
                answer = client.receive(timeout=10)
            except (TimeoutError, OSError) as error:
                answer = f"<{error}>"
            client.close()
            if answer != f"The nickname {nick}{IN_USE}":
                refused.append(f"{nick} on node {node}: {answer!r}")
    check(not refused, f"{what}: nobody on either node can take a member's nickname", "; ".join(refused))
    who = run("chatroomctl", "--socket", "/run/chatroomd-2/control", "who").stdout
    listed = dict(re.findall(r"^(\S+)(?: \[\w+\])*  node (\S+)", who, re.M))
    check(all(listed.get(nick) == f"{host}-1" for nick in NICKS[1]) and all(listed.get(nick) == f"{host}-2" for nick in NICKS[2]),
          f"{what}: node 2's chatroomctl who lists every member with its node", who)


def linked_after(instance, after, timeout=DEADLINE):
    found = wait_until(lambda: entries(instance, after, CHAT_EVENT="cluster-linked"), timeout=timeout)
    return entry_time(found[0]) if found else None


def restart_phase(members, host):
    mark = cursor()
    pid = show("chatroomd@1.service", "MainPID")
    restarts = show("chatroomd@1.service", "NRestarts")
    job = []
    started = []

    def restart():
        started.append(time.time())
        job.append(subprocess.Popen(["systemctl", "restart", "chatroomd@1.service"]))
        # Once the old process is gone and before its successor has linked, every talker
        # says a line: node 1's wait in the kernel for the successor, which must not show
        # them before it has linked (they would reach node 1's members only).
        wait_until(lambda: process_gone(pid), timeout=DEADLINE, interval=0.001)
        for nick in TALKING:
            members.say(nick, "in the pause")

    members.chat_through(restart, LINES // 3)
    check(bool(job) and job[0].wait(timeout=DEADLINE) == 0, "systemctl restart chatroomd@1 succeeds")
    check(show("chatroomd@1.service", "MainPID") not in ("0", pid) and show("chatroomd@1.service", "NRestarts") == restarts,
          "a new main process serves node 1 (a restart job, not a failure)")
    restored = wait_until(lambda: entries(1, mark, CHAT_EVENT="handover-restored"), timeout=DEADLINE)
    check(bool(restored) and restored[0].get("CHAT_CONNECTIONS") == str(MEMBERS),
          f"node 1's successor took over its {MEMBERS} connections from the store", f"{restored[:1]}")
    linked_at = linked_after(1, mark)
    check(linked_at is not None, "node 1's successor linked to the cluster again")
    check(members.barrier("end"), "after the restart every member hears every talker")
    window = (started[0] - EARLY if started else 0, linked_at or time.time())
    heard = verify_lines(members, "systemctl restart chatroomd@1",
                         lambda node, talker_node, sent: node == 1 and talker_node == 2 and window[0] <= sent <= window[1])
    lost = missing(heard, 1)
    others = [line for line in heard.get(2, []) if NODE_OF[line[0]] == 2]
    positions = [others.index(line) for line in lost]
    check(positions == list(range(positions[0], positions[0] + len(positions))) if positions else True,
          "node 1's members missed at most one contiguous run of node 2's lines", f"{lost}")
    in_pause = max(members.sent_at.get((nick, "in the pause"), 0) for nick in TALKING)
    print(f"INFO: the lines 'in the pause' were said {((linked_at or 0) - in_pause) * 1000:.0f} ms before node 1 linked again", flush=True)
    if restored:
        print(f"INFO: systemctl restart: paused {restored[0].get('CHAT_DURATION_MS')} ms; linked again "
              f"{(linked_at or 0) - started[0]:.3f} s after the restart began; node 1's members missed "
              f"{len(lost)} of node 2's {len(others)} lines", flush=True)
    notices = {member: members.heard(member)[1] for member in members.socks}
    check(all(not lines for lines in notices.values()),
          "no notice for anyone: no leave, join, split or restart notice on either node",
          f"{ {m: l for m, l in notices.items() if l} }")
    check(not entries(2, mark, CHAT_EVENT="cluster-node-gone"), "node 2 never declared node 1 gone")
    nicknames_held(host, "after systemctl restart")


def crash_phase(members, host, slow=False):
    """kill -9 of node 1; `slow`: systemd waits longer than the lease before starting it
    again (a drop-in RestartSec=), so node 2 reaps it for certain."""
    what = "kill -9 of chatroomd@1" + (", restarted after its lease ran out" if slow else "")
    dropin = "/run/systemd/system/chatroomd@1.service.d"
    if slow:
        os.makedirs(dropin, exist_ok=True)
        with open(f"{dropin}/50-slow-restart.conf", "w") as conf:
            conf.write("[Service]\nRestartSec=5s\n")
        run("systemctl", "daemon-reload", check_exit=True)
    mark = cursor()
    pid = show("chatroomd@1.service", "MainPID")
    restarts = int(show("chatroomd@1.service", "NRestarts") or "0")
    killed = []

    def kill():
        killed.append(time.time())
        os.kill(int(pid), signal.SIGKILL)

    members.chat_through(kill, LINES // 3)
    check(bool(wait_until(lambda: show("chatroomd@1.service", "SubState") == "running"
                          and show("chatroomd@1.service", "MainPID") not in ("0", pid), timeout=DEADLINE))
          and int(show("chatroomd@1.service", "NRestarts") or "0") == restarts + 1,
          f"{what}: systemd started chatroomd@1 again (one automatic restart)")
    if slow:
        os.remove(f"{dropin}/50-slow-restart.conf")
        run("systemctl", "daemon-reload", check_exit=True)
    crash = wait_until(lambda: entries(1, mark, CHAT_EVENT="crash-restored"), timeout=DEADLINE)
    check(bool(crash) and crash[0].get("CHAT_CONNECTIONS") == str(MEMBERS),
          f"{what}: node 1 restored its {MEMBERS} members from the crash journal", f"{crash[:1]}")
    linked_at = linked_after(1, mark)
    check(linked_at is not None, f"{what}: node 1 linked to the cluster again")
    check(members.barrier("end"), f"{what}: afterwards every member hears every talker")
    reaped = entries(2, mark, CHAT_EVENT="cluster-node-gone")
    if slow:
        check(bool(reaped), f"{what}: node 2 reaped node 1 (its lease ran out)")
    at = killed[0] if killed else 0
    # Node 1's own lines of its last moments may be lost for anyone; node 2's, for node 1's
    # members only, until node 1 linked again.
    verify_lines(members, what,
                 lambda node, talker_node, sent: (talker_node == 1 and at - EARLY <= sent <= at)
                 or (node == 1 and talker_node == 2 and at - EARLY <= sent <= (linked_at or time.time())))
    print(f"INFO: {what}: node 1 linked again {(linked_at or 0) - at:.3f} s after the kill "
          f"({'after' if reaped else 'before'} node 2 reaped it; the lease is 3 s)", flush=True)
    wrong = []
    for member in members.socks:
        notices = members.heard(member)[1]
        if NODE_OF[member] == 1:
            expected = [RESTORED_AFTER_FAILURE]
        elif reaped:
            # Reaped: each of node 1's members announced as gone, then as joined again.
            expected = [line for nick in NICKS[1] for line in (LEFT.format(nick), JOINED.format(nick))]
            in_order = all(notices.index(LEFT.format(nick)) < notices.index(JOINED.format(nick)) for nick in NICKS[1]
                           if LEFT.format(nick) in notices and JOINED.format(nick) in notices)
            if sorted(notices) == sorted(expected) and in_order:
                notices = expected
        else:
            expected = []
        if notices != expected:
            wrong.append(f"{member}: {notices}")
    check(not wrong, f"{what}: node 1's members were told of the crash once; node 2's members saw "
                     + ("each of them leave and come back, once" if reaped else "nothing (node 1 linked before its lease ran out)"),
          "; ".join(wrong[:4]))
    nicknames_held(host, f"after {what}")


def main():
    host = run("hostname").stdout.strip()
    mark = cursor()
    was_running = {i: show(f"chatroomd@{i}.service", "ActiveState") == "active" for i in (1, 2)}
    result = run("systemctl", "start", "chatroomd@1.socket", "chatroomd@2.socket", "chatroomd@1.service", "chatroomd@2.service")
    check(result.returncode == 0, "both instances run (node 2 again after cluster_inside.py stopped it)", result.stderr)
    for instance in (1, 2):
        linked = (lambda i=instance: entries(i, mark, CHAT_EVENT="cluster-linked")) if not was_running[instance] else \
            (lambda i=instance: "Linked to the cluster" in run("journalctl", "-u", f"chatroomd@{i}.service", "-o", "cat", "--no-pager").stdout)
        check(bool(wait_until(linked)), f"chatroomd@{instance} is linked to the cluster")
    members = Members()
    if not members.join_all() or not check(members.barrier("ready"), "every member hears every talker on both nodes"):
        return
    restart_phase(members, host)
    crash_phase(members, host)
    crash_phase(members, host, slow=True)


if __name__ == "__main__":
    try:
        main()
    finally:
        print(f"cluster restart: {e2e.passed} passed, {e2e.failed} failed", flush=True)
    sys.exit(1 if e2e.failed or not e2e.passed else 0)
