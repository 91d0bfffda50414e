"""Bans, mutes and slowmode changed at the same moment on several nodes of one room, and
`/ban --purge` across nodes, with a real redis-server (cluster_support).

What is checked: many rounds (bounded) of bans of different addresses set at the same
moment on two nodes, by `/ban` on both and by `chatroomctl ban` on one with `/ban` on the
other, all hold on every node and in Redis (each change is applied to Redis' list by one
script; the last whole list no longer wins); unban against ban, and two slowmode changes,
racing on two nodes end the same on every node and in Redis; bans set during a split hold
everywhere once the room is whole; a member's lines said on one node and purged by a ban
set on another are gone from Redis' history and from the replay a fresh joiner gets on
a third node.

Nothing sleeps: every wait is a read with a deadline, or a condition polled until a
deadline (the answers of chatroomctl and of Redis).
"""

import json
import os
import re
import signal
import socket
import threading
import time

from cluster_support import READ_DEADLINE, SPLIT, WHOLE, ClusterTestCase
from redis_fixture import RedisServer

ROUNDS = 20
CONVERGE_DEADLINE = 15.0
UNLIMITED = ["--flood-burst", "1000", "--flood-rate", "1000", "--joins-per-address-per-minute", "off",
             "--presence-rate", "off", "--accepts-per-address-per-second", "off"]


def redis_reply(sock_file):
    """One RESP reply, whole (the fixture's `command` reads only the first line)."""
    line = sock_file.readline()
    kind, rest = line[:1], line[1:-2]
    if kind == b"$":
        length = int(rest)
        if length < 0:
            return None
        data = sock_file.read(length + 2)
        return data[:-2]
    if kind == b"*":
        return [redis_reply(sock_file) for _ in range(int(rest))]
    if kind == b":":
        return int(rest)
    if kind == b"-":
        raise AssertionError(f"redis error: {rest.decode()}")
    return rest


def redis_call(redis, *args):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(READ_DEADLINE)
        sock.connect(redis.path)
        payload = f"*{len(args)}\r\n".encode()
        for arg in args:
            data = str(arg).encode()
            payload += f"${len(data)}\r\n".encode() + data + b"\r\n"
        sock.sendall(payload)
        with sock.makefile("rb") as sock_file:
            return redis_reply(sock_file)


def message_fields(message):
    """The length-prefixed fields of a ClusterMessage after its version and kind bytes."""
    fields, index = [], 2
    while index < len(message):
        colon = message.index(b":", index)
        length = int(message[index:colon])
        fields.append(message[colon + 1:colon + 1 + length].decode())
        index = colon + 1 + length
    return fields


def redis_sanctions(redis, room="lobby"):
    """(set of (kind, range), slowmode text) of the list Redis keeps for the room."""
    stored = redis_call(redis, "GET", f"chatroomd:{{{room}}}:sanctions")
    if stored is None:
        return set(), ""
    fields = message_fields(stored)
    entries = fields[3:]
    return {(entries[i], entries[i + 1]) for i in range(0, len(entries), 7)}, fields[2]


class ClusterSanctionTestCase(ClusterTestCase):
    nodes = 2
    seed_behaviour = UNLIMITED
    with_control_socket = True

    def node_sanctions(self, node):
        listed = json.loads(self.ctl(node, "--json", "bans"))["sanctions"]
        return {(entry["kind"], entry["target"]) for entry in listed}

    def node_slowmode(self, node):
        return json.loads(self.ctl(node, "--json", "stats"))["slowmode_seconds"]

    def wait_until_every_node_holds_redis_list(self, must_include):
        """Polls every node's list and Redis' until all are equal and include `must_include`;
        returns that list. Fails at the deadline with what each held."""
        deadline = time.monotonic() + CONVERGE_DEADLINE
        while True:
            in_redis, _ = redis_sanctions(self.redis)
            lists = [self.node_sanctions(node) for node in range(len(self.daemons))]
            if must_include <= in_redis and all(held == in_redis for held in lists):
                return in_redis
            if time.monotonic() > deadline:
                self.fail(f"no agreement within {CONVERGE_DEADLINE} s: missing in redis {sorted(must_include - in_redis)}; "
                          f"each node's difference from redis (extra, missing): "
                          f"{[(sorted(held - in_redis), sorted(in_redis - held)) for held in lists]}")

    def at_once(self, *actions):
        """Runs each action in a thread of its own, started together; returns their results."""
        results = [None] * len(actions)
        errors = []

        def run(index, action):
            try:
                results[index] = action()
            except Exception as error:  # reported below
                errors.append(error)
        threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(actions)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=READ_DEADLINE * 2)
        self.assertEqual(errors, [])
        return results


class ConcurrentSanctionTests(ClusterSanctionTestCase):
    """The admin's nickname is one in the whole room: a second moderator is the operator's
    chatroomctl, on either node."""

    def test_bans_set_at_the_same_moment_on_two_nodes_all_hold_everywhere(self):
        expected = set()
        for round_ in range(ROUNDS):
            answers = self.at_once(lambda r=round_: self.ctl(0, "ban", f"127.10.{r}.1"),
                                   lambda r=round_: self.ctl(1, "ban", f"127.11.{r}.0/24", "1h"))
            self.assertEqual(answers, [f"Banned 127.10.{round_}.1.\n", f"Banned 127.11.{round_}.0/24 for 1h.\n"])
            expected |= {("ban", f"127.10.{round_}.1"), ("ban", f"127.11.{round_}.0/24")}
        # chatroomctl on one node and /ban on the other, at the same moment.
        admin = self.join_admin(1, source="127.0.0.3")
        for round_ in range(ROUNDS):
            answers = self.at_once(lambda r=round_: self.ctl(0, "ban", f"127.12.{r}.1"),
                                   lambda r=round_: (admin.send(f"/ban 127.13.{r}.1"), admin.recv())[1])
            self.assertEqual(answers, [f"Banned 127.12.{round_}.1.\n", f"Banned 127.13.{round_}.1."])
            expected |= {("ban", f"127.12.{round_}.1"), ("ban", f"127.13.{round_}.1")}
        self.assertEqual(self.wait_until_every_node_holds_redis_list(expected), expected)
        # And they are enforced on both nodes: a member from a range banned on the other
        # node is refused.
        for node, source in ((0, "127.11.3.77"), (1, "127.10.4.1"), (1, "127.12.1.1"), (0, "127.13.7.1")):
            refused = self.connect(node, source=source)
            refused.join("late")
            self.assertEqual(refused.recv(), "You are banned from this server.")

    def test_mutes_and_bans_set_at_the_same_moment_on_two_nodes_all_hold_everywhere(self):
        members = [self.join(0, "m0", source="127.0.0.20")]
        members.append(self.join(1, "m1", members, source="127.0.0.21"))
        members.append(self.join(0, "m2", members, source="127.0.0.22"))
        answers = self.at_once(lambda: self.ctl(0, "mute", "m0"), lambda: self.ctl(1, "mute", "m1"),
                               lambda: self.ctl(1, "ban", "127.16.0.1"))
        self.assertEqual(answers, ["Muted m0.\n", "Muted m1.\n", "Banned 127.16.0.1.\n"])
        expected = {("mute", "127.0.0.20"), ("mute", "127.0.0.21"), ("ban", "127.16.0.1")}
        self.assertEqual(self.wait_until_every_node_holds_redis_list(expected), expected)
        # A mute set on node 2 lifted from node 1 while node 2 mutes m2 (on node 1).
        answers = self.at_once(lambda: self.ctl(0, "unmute", "m1"), lambda: self.ctl(1, "mute", "m2"))
        self.assertEqual(answers, ["Unmuted m1.\n", "Sent to node node1, which has m2.\n"])
        expected = {("mute", "127.0.0.20"), ("mute", "127.0.0.22"), ("ban", "127.16.0.1")}
        self.assertEqual(self.wait_until_every_node_holds_redis_list(expected), expected)

    def test_unban_against_ban_and_two_slowmodes_race_to_one_answer_everywhere(self):
        watchers = [self.join(0, "w0", source="127.0.0.2")]
        watchers.append(self.join(1, "w1", watchers, source="127.0.0.3"))
        for round_ in range(ROUNDS):
            self.assertEqual(self.ctl(0, "ban", f"127.14.{round_}.1"), f"Banned 127.14.{round_}.1.\n")
        # Wait for the bans to be everywhere, so each unban below has something to lift.
        self.wait_until_every_node_holds_redis_list({("ban", f"127.14.{r}.1") for r in range(ROUNDS)})
        for round_ in range(ROUNDS):
            # Node 1 lifts the ban while node 2 sets it again, then both change slowmode:
            # either may come first in Redis, but the same one on every node.
            self.at_once(lambda r=round_: (self.ctl(0, "unban", f"127.14.{r}.1"), self.ctl(0, "slowmode", str(r + 1))),
                         lambda r=round_: (self.ctl(1, "ban", f"127.14.{r}.1", "1h", "again"), self.ctl(1, "slowmode", str(r + 100))))
        # The room's notices (unbans, slowmodes) come through the channel: one order on both nodes.
        notices = [watcher.recv_n(3 * ROUNDS) for watcher in watchers]
        self.assertEqual(notices[0], notices[1])
        self.assertEqual(sum(text.startswith("The ban on 127.14.") for text in notices[0]), ROUNDS)
        last_slowmode = [text for text in notices[0] if text.startswith("Slowmode is on")][-1]
        self.ctl(0, "ban", "127.19.9.1")
        self.ctl(1, "ban", "127.19.9.2")
        final = self.wait_until_every_node_holds_redis_list({("ban", "127.19.9.1"), ("ban", "127.19.9.2")})
        _, slowmode_in_redis = redis_sanctions(self.redis)
        self.assertEqual([self.node_slowmode(node) for node in range(2)], [int(slowmode_in_redis)] * 2)
        self.assertIn(int(slowmode_in_redis), (ROUNDS, ROUNDS + 99))
        # The change applied last in Redis is the one announced last, on both nodes.
        self.assertEqual(last_slowmode, f"Slowmode is on: one message every {'20s' if int(slowmode_in_redis) == ROUNDS else '1m 59s'} per member.")
        # The races went one way or the other; each node refuses exactly what is banned.
        for round_ in range(0, ROUNDS, 5):
            banned = ("ban", f"127.14.{round_}.1") in final
            for node in range(2):
                client = self.connect(node, source=f"127.14.{round_}.1")
                client.join(f"r{round_}n{node}")
                answer = client.recv()
                self.assertEqual(answer == "You are banned from this server.", banned, (round_, node, answer))

    def test_bans_set_on_both_sides_of_a_split_hold_everywhere_when_whole(self):
        watchers = [self.join(0, "w0", source="127.0.0.2")]
        watchers.append(self.join(1, "w1", watchers, source="127.0.0.3"))
        self.ctl(0, "ban", "127.15.0.1")
        self.wait_until_every_node_holds_redis_list({("ban", "127.15.0.1")})
        directory = os.path.dirname(self.redis.path)
        self.redis.kill()
        for watcher in watchers:
            self.assertEqual(watcher.recv(), SPLIT)
        self.assertEqual(self.ctl(0, "ban", "127.15.1.1"), "Banned 127.15.1.1.\n")
        self.assertEqual(self.ctl(1, "ban", "127.15.2.1"), "Banned 127.15.2.1.\n")
        self.assertEqual(self.ctl(1, "unban", "127.15.0.1"), "Lifted 1 ban(s).\n")
        self.assertTrue(watchers[1].recv().startswith("The ban on 127.15.0.1 has been lifted by chatroomctl:"))
        # A Redis that lost everything (no persistence): the nodes' lists are merged into it.
        self.redis = RedisServer(directory).start()
        self.addCleanup(self.redis.kill)
        for watcher in watchers:
            watcher.recv_until(WHOLE, timeout=20)
        final = self.wait_until_every_node_holds_redis_list({("ban", "127.15.1.1"), ("ban", "127.15.2.1")})
        # The unban made on node 2 during the split holds too: if node 1 links first it
        # gives its list (with the ban) to the empty Redis, and node 2's unban, still
        # pending, is applied after it; if node 2 links first, its list (without) is Redis'.
        self.assertEqual(final, {("ban", "127.15.1.1"), ("ban", "127.15.2.1")})


class ClusterPurgeTests(ClusterSanctionTestCase):
    nodes = 3
    seed_behaviour = UNLIMITED + ["--history-lines", "50"]

    def replay(self, node, nick):
        client = self.connect(node)
        client.join(nick)
        frames = client.recv_until(f"{nick} has joined the chat!")
        self.assertEqual(frames[0], "Connected to the server")
        return [re.sub(r"^\[history [0-9:]+Z\] ", "", line) for line in frames[1:-1]]

    def test_lines_said_on_one_node_and_purged_from_another_are_gone_from_every_replay(self):
        admin = self.join_admin(0, source="127.0.0.2")
        bob = self.join(1, "bob", [admin], source="127.0.0.5")
        carl = self.join(1, "carl", [admin, bob], source="127.0.0.6")
        dan = self.join(2, "dan", [admin, bob, carl], source="127.0.0.9")
        everyone = [admin, bob, carl, dan]
        for i in range(3):
            for name, client in (("bob", bob), ("carl", carl), ("dan", dan)):
                self.barrier(client, name, everyone, f"{name} line {i}")
        said = [f"{name}: {name} line {i}" for i in range(3) for name in ("bob", "carl", "dan")]
        self.assertEqual(self.replay(2, "early"), said)
        for client in everyone:
            self.assertEqual(client.recv(), "early has joined the chat!")

        # bob is on node 2: the ban runs there and its purge reaches Redis and every node.
        admin.send("/ban bob --purge")
        self.assertEqual(bob.recv(), "You have been banned by an admin.")
        for client in (admin, carl, dan):
            self.assertEqual(client.recv(), "bob has been banned from the server.")
        # dan's address, in a range banned on node 1, where dan never spoke: 127.0.0.8/30
        # is 127.0.0.8 to .11, not a whole number of hex digits (carl's .6 stays).
        admin.send("/ban 127.0.0.8/30 --purge")
        self.assertEqual(admin.recv(), "Banned 127.0.0.8/30. Purged 3 history line(s).")
        self.assertEqual(dan.recv(), "You have been banned by an admin.")
        for client in (admin, carl):
            self.assertEqual(client.recv(), "dan has been banned from the server.")
        self.barrier(carl, "carl", [admin, carl], "after")
        kept = [line for line in said if line.startswith("carl: ")] + ["carl: after"]
        # Every node's own replay, and a node started now, which knows only Redis' list.
        self.daemons.append(self.start_node(3))
        for node, nick in ((0, "fresh0"), (1, "fresh1"), (2, "fresh2"), (3, "fresh3")):
            self.assertEqual(self.replay(node, nick), kept, f"node {node + 1}")
        in_redis = [entry.decode().split(" ", 1)[1] for entry in redis_call(self.redis, "LRANGE", "chatroomd:{lobby}:history", 0, -1)]
        self.assertEqual(in_redis, kept)
