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
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e_inside as e2e  # noqa: E402
from e2e_inside import check, run, show, wait_until, RESTORED_AFTER_FAILURE  # noqa: E402
from cluster_members import (DEADLINE, EARLY, IN_USE, JOINED, LEFT, LINES, MEMBERS, NICKS, NODE_OF, TALKING,  # noqa: E402
                             Members, missing, verify_lines)


def cursor():
    """Now, as the journal's timestamps count it. Not a journal cursor: under this systemd
    (252), `journalctl -u chatroomd@2.service --after-cursor CURSOR` returned nothing for
    node 2's entries after the cursor (a process started before it), while plain
    `journalctl -u` listed them."""
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
