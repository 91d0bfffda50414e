#!/usr/bin/env python3
"""Two chatroomd template instances sharing port 12000, joined by Debian's
redis-server.service: runs INSIDE the sandbox (cluster.sh). Each check prints PASS or
FAIL; the last line is "cluster: N passed, M failed"; the exit code is non-zero if anything
failed. Every wait is a poll with a deadline."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e_inside as e2e  # noqa: E402  (check, run, wait_until, Client)
from e2e_inside import check, run, wait_until, Client  # noqa: E402

MEMBERS = 16  # spread by the kernel over the two listeners: all on one has odds 2 in 65536


def linked(instance):
    log = run("journalctl", "-u", f"chatroomd@{instance}.service", "-o", "cat", "--no-pager").stdout
    return "Linked to the cluster" in log


def main():
    check(run("systemctl", "start", "redis-server.service").returncode == 0, "redis-server.service starts",
          run("systemctl", "status", "redis-server.service", "--no-pager").stdout)
    result = run("systemctl", "start", "chatroomd@1.socket", "chatroomd@2.socket")
    check(result.returncode == 0, "two template sockets bind port 12000 (ReusePort=yes)", result.stderr)
    result = run("systemctl", "start", "chatroomd@1.service", "chatroomd@2.service")
    check(result.returncode == 0, "both instances start", result.stderr)
    for instance in (1, 2):
        check(wait_until(lambda: linked(instance)), f"chatroomd@{instance} links to Redis through its Unix socket",
              run("journalctl", "-u", f"chatroomd@{instance}.service", "-o", "cat", "--no-pager", "-n", "20").stdout)

    clients = []
    seen = []
    for index in range(MEMBERS):
        client = Client()
        client.send(f"NICK:m{index}")
        clients.append(client)
        frames = [client.receive(), client.receive()]
        if not check(frames == ["Connected to the server", f"m{index} has joined the chat!"], f"m{index} joins", f"{frames}"):
            return
        for earlier in clients[:-1]:
            got = earlier.receive()
            if got != f"m{index} has joined the chat!":
                check(False, f"m{index}'s join reaches every earlier member", f"got {got!r}")
                return
    check(True, "every join reached every member, on both instances")

    clients[0].send("/who")
    who = clients[0].receive()
    host = run("hostname").stdout.strip()
    on_one = who.count(f"({host}-1)")
    on_two = who.count(f"({host}-2)")
    check(on_one + on_two == MEMBERS and on_one > 0 and on_two > 0,
          "the kernel spread members over both instances; /who names each member's node", who)

    clients[-1].send("hello from the last")
    lines = [client.receive() for client in clients]
    check(all(line == f"m{MEMBERS - 1}: hello from the last" for line in lines), "a line reaches members of both instances", f"{lines}")

    result = run("systemctl", "stop", "chatroomd@2.service", "chatroomd@2.socket")
    check(result.returncode == 0, "chatroomd@2 stops", result.stderr)
    survivors = []
    for client in clients:
        try:
            got = client.receive(timeout=10)
        except (TimeoutError, OSError):
            got = None
        if got != "Server is shutting down.":  # else a member of the stopped instance
            survivors.append((client, got))
    gone = []
    for client, first in survivors:
        frames = [first]
        try:
            frames += [client.receive(timeout=10) for _ in range(on_two - 1)]
        except (TimeoutError, OSError) as error:
            frames.append(f"<{error}>")
        gone.append(sorted(frames))
    expected_count = on_two
    check(len(survivors) == on_one and all(len(set(g)) == expected_count and all(t and t.startswith("[CLIENT DISCONNECT - m") for t in g)
                                           for g in gone),
          "members of the stopped instance are announced as gone on the other at once", f"{gone}")
    print(f"cluster: {e2e.passed} passed, {e2e.failed} failed", flush=True)


if __name__ == "__main__":
    try:
        main()
    finally:
        if e2e.failed or not e2e.passed:
            print(f"cluster: {e2e.passed} passed, {e2e.failed} failed", flush=True)
    sys.exit(1 if e2e.failed or not e2e.passed else 0)
