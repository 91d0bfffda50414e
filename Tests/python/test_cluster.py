"""One room over three chatroomd processes joined by a real redis-server (the Debian
package; each test starts its own on a Unix socket in a temporary directory, without
persistence, and stops it after).

What is checked: members spread over the nodes see one identical sequence with nothing
lost, the speaker's echo included; join and leave notices reach the whole room; nicknames
are unique across nodes, also for two joins at the same moment; a node killed with
SIGKILL has its members announced as gone and their nicknames freed within 5 s; when
Redis dies each node's members chat on among themselves, are told once, and are told
once again when Redis is back, and exactly the lines said during the split are missing
on the other nodes; a Redis that stops answering (DEBUG SLEEP) does not hold up local
delivery; the seed's own client on one node chats with `chatroom` on another.

Nothing sleeps: every wait is a read with a deadline, or a wait for a log line.
"""

import json
import os
import re
import signal
import subprocess
import threading
import time
import unittest

from chat_test_support import ChatAssertions
from chatroomd_fixture import ADMIN_PASSWORD, chatroom_binary
from original_client import OriginalClient
from redis_fixture import RedisServer, start_node, temporary_directory
from test_chatroomctl import run_chatroomctl

READ_DEADLINE = 10.0
SPLIT = "The link between chat servers is down: your lines now reach only the members on this server."
WHOLE = "The link between chat servers is back: the room is whole again."
RENAMED = "While the chat servers were apart, a member on another server took the nickname zed first; you are now zed_2."


def read_frames(client, count, timeout=10.0):
    """`count` frames, read with loops (the seed's one-recv reads cannot keep up with
    kilobyte lines arriving in bulk)."""
    deadline = time.monotonic() + timeout
    buffer = getattr(client, "pending_bytes", b"")
    frames = []
    while len(frames) < count:
        while len(buffer) >= 64 and len(buffer) >= 64 + int(buffer[:64]):
            length = int(buffer[:64])
            frames.append(buffer[64:64 + length].decode())
            buffer = buffer[64 + length:]
            if len(frames) == count:
                break
        if len(frames) == count:
            break
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"got {len(frames)} of {count} frames within {timeout} s")
        client.sock.settimeout(remaining)
        chunk = client.sock.recv(1 << 16)
        if not chunk:
            raise AssertionError(f"connection closed after {len(frames)} of {count} frames")
        buffer += chunk
    client.pending_bytes = buffer  # the start of the next frames, for the next call
    return frames


def read_until(client, predicate, timeout=15.0):
    frames = []
    while not frames or not predicate(frames[-1]):
        frames += read_frames(client, 1, timeout)
    return frames


class ClusterTestCase(ChatAssertions, unittest.TestCase):
    nodes = 3
    seed_behaviour = None  # None: the fixture's (no history)

    def setUp(self):
        super().setUp()
        self.redis = RedisServer(temporary_directory(self)).start()
        self.addCleanup(self.redis.kill)
        self.daemons = [self.start_node(i) for i in range(self.nodes)]

    def start_node(self, index):
        return start_node(self, self.redis, f"node{index + 1}", seed_behaviour=self.seed_behaviour)

    def tearDown(self):
        for daemon in self.daemons:
            if daemon.process.poll() is None:
                self.assertEqual(daemon.stop(), 0, daemon.stderr)
        super().tearDown()

    def connect(self, node, source=None):
        client = OriginalClient.connect(self.daemons[node].port, source=source, timeout=READ_DEADLINE)
        self.addCleanup(client.close)
        return client

    def join(self, node, nick, others=(), source=None):
        """Joins `nick` on `node`; it and every one of `others` see the join notice."""
        client = self.connect(node, source=source)
        client.join(nick)
        self.assertEqual(client.recv_n(2), ["Connected to the server", f"{nick} has joined the chat!"])
        for other in others:
            self.assertEqual(other.recv(), f"{nick} has joined the chat!")
        return client

    def join_admin(self, node, others=(), source=None):
        client = self.connect(node, source=source)
        client.login_admin(ADMIN_PASSWORD)
        self.assertEqual(client.recv_n(2), ["Connected to the server", "An admin has joined the chat!"])
        for other in others:
            self.assertEqual(other.recv(), "An admin has joined the chat!")
        return client

    def join_everywhere(self, names_by_node):
        clients = {}
        for node, names in enumerate(names_by_node):
            for name in names:
                clients[name] = self.join(node, name, list(clients.values()))
        return clients


class ClusterChatTests(ClusterTestCase):

    def test_members_on_three_nodes_see_one_identical_sequence_with_nothing_lost(self):
        clients = self.join_everywhere([["ann", "abe"], ["bob", "bea"], ["cy", "cat"]])
        per_sender = 30
        senders = list(clients)
        received = {name: [] for name in senders}
        errors = []

        def speak(name):
            try:
                for i in range(per_sender):
                    clients[name].send(f"{name} line {i}")
            except Exception as error:  # reported by the main thread
                errors.append(error)

        def listen(name):
            try:
                received[name] = clients[name].recv_n(per_sender * len(senders), timeout=30)
            except Exception as error:
                errors.append(error)

        threads = [threading.Thread(target=listen, args=(n,)) for n in senders]
        threads += [threading.Thread(target=speak, args=(n,)) for n in senders]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        self.assertEqual(errors, [])
        reference = received[senders[0]]
        expected = {f"{n}: {n} line {i}" for n in senders for i in range(per_sender)}
        self.assertEqual(set(reference), expected, "a line was lost or duplicated")
        self.assertEqual(len(reference), len(expected))
        for name in senders:
            self.assertEqual(received[name], reference, f"{name} saw another order")
            own = [line for line in reference if line.startswith(f"{name}: ")]
            self.assertEqual(own, [f"{name}: {name} line {i}" for i in range(per_sender)])

    def test_leave_notices_reach_every_node(self):
        clients = self.join_everywhere([["ann"], ["bob"], ["cy"]])
        clients["bob"].disconnect()
        for name in ("ann", "cy"):
            self.assertEqual(clients[name].recv(), "[CLIENT DISCONNECT - bob]")
        clients["cy"].close()  # without !DC: the same notice
        self.assertEqual(clients["ann"].recv(), "[CLIENT DISCONNECT - cy]")

    def test_the_seed_client_on_one_node_chats_with_chatroom_on_another(self):
        ann = self.join(0, "ann")
        process = subprocess.Popen([chatroom_binary(), "--nick", "zed", "--port", str(self.daemons[1].port)],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: process.poll() is None and process.kill())
        self.assertEqual(ann.recv(), "zed has joined the chat!")
        ann.send("hello zed")
        self.assertEqual(ann.recv(), "ann: hello zed")
        process.stdin.write("hello ann\n")
        process.stdin.flush()
        self.assertEqual(ann.recv(), "zed: hello ann")
        out, err = process.communicate(timeout=READ_DEADLINE)  # end of input: zed leaves
        self.assertEqual(ann.recv(), "[CLIENT DISCONNECT - zed]")
        self.assertEqual(process.returncode, 0, err)
        self.assertIn("ann: hello zed", out)
        self.assertIn("zed: hello ann", out)


class ClusterCommandTests(ClusterTestCase):
    nodes = 2

    def test_who_lists_every_member_with_its_node(self):
        clients = self.join_everywhere([["ann", "zoe"], ["bob"]])
        for name in ("ann", "bob"):
            clients[name].send("/who")
            self.assertEqual(clients[name].recv(), "3 members: ann (node1), bob (node2), zoe (node1)")

    def test_a_private_message_reaches_a_member_on_another_node_only(self):
        clients = self.join_everywhere([["ann", "zoe"], ["bob"]])
        clients["ann"].send("/msg bob psst")
        self.assertEqual(clients["ann"].recv(), "[PM to bob] psst")
        self.assertEqual(clients["bob"].recv(), "[PM from ann] psst")
        clients["ann"].send("/msg nobody hello")
        self.assertEqual(clients["ann"].recv(), "No member is called nobody.")
        self.barrier(clients["bob"], "bob", [clients["zoe"], clients["ann"], clients["bob"]])  # zoe saw no PM

    def test_kick_and_topic_from_one_node_act_on_the_other(self):
        ann = self.join(0, "ann")
        bob = self.join(1, "bob", [ann])
        admin = self.join_admin(0, [ann, bob])
        admin.send("/topic Cluster news")
        for client in (admin, ann, bob):
            self.assertEqual(client.recv(), "admin set the topic: Cluster news")
        late = self.connect(1)
        late.join("late")
        self.assertEqual(late.recv_n(2), ["Connected to the server", "Topic: Cluster news"])
        for client in (admin, ann, bob):
            self.assertEqual(client.recv(), "late has joined the chat!")
        self.assertEqual(late.recv(), "late has joined the chat!")
        admin.send("/kick bob spam")
        self.assertEqual(bob.recv(), "You have been kicked by an admin. Reason: spam")
        self.assertClosed(bob)
        for client in (admin, ann, late):
            self.assertEqual(client.recv(), "bob has been kicked from the server. Reason: spam")
        # bob's nickname is free again everywhere.
        again = self.connect(0)
        again.join("bob")
        self.assertEqual(again.recv_n(3), ["Connected to the server", "Topic: Cluster news", "bob has joined the chat!"])
        for client in (admin, ann, late):
            self.assertEqual(client.recv(), "bob has joined the chat!")
        again.send("/who")
        self.assertEqual(again.recv(), "4 members: admin (node1) [admin], ann (node1), bob (node1), late (node2)")


class ClusterSanctionTests(ClusterTestCase):
    nodes = 2

    def test_bans_mutes_and_slowmode_set_on_one_node_hold_on_the_other(self):
        admin = self.join_admin(0, source="127.0.0.2")
        ann = self.join(0, "ann", [admin], source="127.0.0.4")
        bob = self.join(1, "bob", [admin, ann], source="127.0.0.3")
        carl = self.join(1, "carl", [admin, ann, bob], source="127.0.0.5")
        dan = self.join(1, "dan", [admin, ann, bob, carl], source="127.0.0.6")

        admin.send("/mute carl")  # carl is on the other node: the command runs there
        self.assertEqual(carl.recv(), "You have been muted by an admin.")
        for client in (bob, dan):
            self.assertEqual(client.recv(), "carl has been muted.")
        carl.send("can anyone hear me")
        self.assertEqual(carl.recv(), "You are muted.")
        self.barrier(dan, "dan", [admin, ann, bob, carl, dan])  # nobody got carl's line

        admin.send("/ban bob")
        self.assertEqual(bob.recv(), "You have been banned by an admin.")
        self.assertClosed(bob)
        for client in (admin, ann, carl, dan):
            self.assertEqual(client.recv(), "bob has been banned from the server.")
        # The ban holds on the node where it was not set, too.
        again = self.connect(0, source="127.0.0.3")
        again.join("bob")
        self.assertEqual(again.recv(), "You are banned from this server.")
        self.assertClosed(again)

        admin.send("/slowmode 60")
        for client in (admin, ann, carl, dan):
            self.assertEqual(client.recv(), "Slowmode is on: one message every 1m per member.")
        dan.send("again")  # dan spoke (the barrier) less than 60 s ago, on the other node
        self.assertTrue(dan.recv().startswith("Slowmode is on: you may send your next message in "))
        self.barrier(admin, "admin", [admin, ann, carl, dan])


class ClusterHistoryTests(ClusterTestCase):
    nodes = 1
    seed_behaviour = [a for a in ["--history-lines", "5", "--flood-burst", "1000", "--flood-rate", "1000",
                                  "--joins-per-address-per-minute", "off", "--presence-rate", "off",
                                  "--accepts-per-address-per-second", "off"]]

    def test_a_joiner_on_a_node_started_later_gets_the_same_history_and_topic(self):
        ann = self.connect(0)
        ann.join("ann")
        self.assertEqual(ann.recv_n(2), ["Connected to the server", "ann has joined the chat!"])
        for i in range(7):
            ann.send(f"line {i}")
        self.assertEqual(ann.recv_n(7), [f"ann: line {i}" for i in range(7)])
        admin = self.connect(0)
        admin.login_admin(ADMIN_PASSWORD)
        admin.recv_until("An admin has joined the chat!")  # after the history replay
        self.assertEqual(ann.recv(), "An admin has joined the chat!")
        admin.send("/topic Shared topic")
        self.assertEqual(ann.recv(), "admin set the topic: Shared topic")
        self.daemons.append(self.start_node(1))  # knows nothing but what Redis holds
        replays = []
        for node, nick in ((0, "early"), (1, "late")):
            client = self.connect(node)
            client.join(nick)
            frames = client.recv_until(f"{nick} has joined the chat!")
            self.assertEqual(frames[0], "Connected to the server")
            replays.append(frames[1:-1])
        self.assertEqual(replays[0][0], "Topic: Shared topic")
        history = replays[0][1:]
        self.assertEqual(len(history), 5, replays[0])
        self.assertTrue(all(f"ann: line {i}" in line for line, i in zip(history, range(2, 7))), history)
        self.assertEqual(replays[1], replays[0])


class ClusterNicknameTests(ClusterTestCase):

    def test_a_nickname_taken_on_one_node_is_refused_on_the_others(self):
        observer = self.join(1, "observer")
        ann = self.join(0, "ann", [observer])
        for node in (1, 2):
            other = self.connect(node)
            other.join("ann")
            self.assertEqual(other.recv(), "The nickname ann is already in use. Choose another one.")
            self.assertClosed(other)
        ann.disconnect()
        # Freed on every node once ann left (the claim is released before the leave is
        # published, on the same connection to Redis).
        self.assertEqual(observer.recv(), "[CLIENT DISCONNECT - ann]")
        again = self.connect(2)
        again.join("ann")
        self.assertEqual(again.recv_n(2), ["Connected to the server", "ann has joined the chat!"])

    def test_two_joins_with_one_nickname_at_the_same_moment_admit_exactly_one(self):
        for round_number in range(10):
            nick = f"twin{round_number}"
            first, second = self.connect(0), self.connect(1)
            first.join(nick)
            second.join(nick)
            answers = [first.recv(), second.recv()]
            winners = [c for c, a in zip((first, second), answers) if a == "Connected to the server"]
            self.assertEqual(len(winners), 1, f"round {round_number}: {answers}")
            self.assertIn(f"The nickname {nick} is already in use. Choose another one.", answers)
            # The previous round's leave may still be on its way to this node.
            seen = winners[0].recv_until(f"{nick} has joined the chat!")
            self.assertTrue(set(seen[:-1]) <= {f"[CLIENT DISCONNECT - twin{round_number - 1}]"}, seen)
            winners[0].disconnect()


class ClusterFailureTests(ClusterTestCase):
    nodes = 2

    def test_a_killed_node_has_its_members_announced_and_their_nicknames_freed_within_5_seconds(self):
        clients = self.join_everywhere([["ann"], ["bob", "bea"]])
        started = time.monotonic()
        self.daemons[1].process.send_signal(signal.SIGKILL)
        self.daemons[1].process.wait(timeout=10)
        gone = set(clients["ann"].recv_n(2, timeout=10))
        elapsed = time.monotonic() - started
        self.assertEqual(gone, {"[CLIENT DISCONNECT - bob]", "[CLIENT DISCONNECT - bea]"})
        self.assertLess(elapsed, 5.0, "the departure took longer than the lease allows")
        bob = self.join(0, "bob", [clients["ann"]])
        bob.send("back")
        self.assertEqual(clients["ann"].recv(), "bob: back")

    def test_while_redis_is_down_each_node_chats_alone_and_exactly_those_lines_are_missing_elsewhere(self):
        clients = self.join_everywhere([["ann", "abe"], ["bob"]])
        clients["ann"].send("before")
        for name in clients:
            self.assertEqual(clients[name].recv(), "ann: before")
        marks = [len(d.stderr_lines) for d in self.daemons]
        self.redis.kill()
        for name in clients:
            self.assertEqual(clients[name].recv(), SPLIT)
        clients["ann"].send("only node1 hears this")
        self.assertEqual(clients["ann"].recv(), "ann: only node1 hears this")
        self.assertEqual(clients["abe"].recv(), "ann: only node1 hears this")
        clients["bob"].send("only node2 hears this")
        self.assertEqual(clients["bob"].recv(), "bob: only node2 hears this")

        self.redis.start()
        for name in clients:
            self.assertEqual(clients[name].recv(), WHOLE)
        clients["bob"].send("after")
        for name in clients:
            self.assertEqual(clients[name].recv(), "bob: after", f"{name} saw something else first")
        # One journal entry per transition and node.
        for daemon, mark in zip(self.daemons, marks):
            lines = daemon.stderr_lines[mark:]
            self.assertEqual(sum("chat_event=cluster-split" in line for line in lines), 1, daemon.stderr)
            self.assertEqual(sum("chat_event=cluster-linked" in line for line in lines), 1, daemon.stderr)
        # Nicknames were claimed again: still unique.
        dup = self.connect(0)
        dup.join("bob")
        self.assertEqual(dup.recv(), "The nickname bob is already in use. Choose another one.")

    def test_a_nickname_taken_on_both_sides_of_a_split_stays_with_one_member_the_other_is_renamed(self):
        clients = self.join_everywhere([["ann"], ["bob"]])
        self.redis.kill()
        for name in clients:
            self.assertEqual(clients[name].recv(), SPLIT)
        # Each node checks only its own members while apart: both joins succeed.
        twins = [self.join(node, "zed", [clients[name]]) for node, name in ((0, "ann"), (1, "bob"))]
        self.redis.start()
        # The node that links first claims zed; the other's zed is renamed and told why.
        outcomes = [twin.recv() for twin in twins]
        self.assertEqual(sorted(outcomes), sorted([WHOLE, RENAMED]), outcomes)
        renamed = twins[outcomes.index(RENAMED)]
        self.assertEqual(renamed.recv(), WHOLE)
        renamed.send("still here")
        for client in twins + list(clients.values()):
            self.assertEqual(client.recv_until(lambda text: "still here" in text)[-1], "zed_2: still here")
        clients["ann"].send("/who")
        who = clients["ann"].recv()
        self.assertRegex(who, r"^4 members: ann \(node1\), bob \(node2\), zed \(node[12]\), zed_2 \(node[12]\)$")

    def test_a_node_too_slow_for_its_redis_output_buffer_is_cut_off_without_stalling_the_others(self):
        clients = self.join_everywhere([["ann", "abe"], ["bob"]])
        # Redis drops a subscriber that falls 64 KiB behind (its default is 32 MiB).
        self.assertEqual(self.redis.command("CONFIG", "SET", "client-output-buffer-limit", "pubsub 64kb 64kb 0"), "+OK")
        lines = [f"{i:04d} " + "x" * 1000 for i in range(600)]
        self.daemons[1].process.send_signal(signal.SIGSTOP)  # node2 stops reading; under its 3 s lease
        try:
            for line in lines:
                clients["ann"].send(line)
            # node1's members get every line at once, whatever Redis does with node2 (node1
            # may be cut off too if it falls behind in the burst: it then shows its lines
            # itself, splits and links again, all without holding them up).
            for name in ("ann", "abe"):
                self.assertEqual(read_frames(clients[name], len(lines)), [f"ann: {line}" for line in lines])
        finally:
            self.daemons[1].process.send_signal(signal.SIGCONT)
        # bob got what was already in his node's socket, in order, then the split and the rejoin.
        frames = read_until(clients["bob"], lambda text: text == WHOLE)
        got = frames[:frames.index(SPLIT)]
        self.assertEqual(got, [f"ann: {line}" for line in lines[:len(got)]], "a gap or a reordering")
        self.assertLess(len(got), len(lines), "Redis never cut the slow subscriber off")
        self.assertEqual(frames[len(got):], [SPLIT, WHOLE])
        clients["bob"].send("caught up")
        for name in clients:
            seen = read_until(clients[name], lambda text: "caught up" in text)
            self.assertEqual(seen[-1], "bob: caught up")
            self.assertTrue(set(seen[:-1]) <= {SPLIT, WHOLE}, seen)

    def test_a_redis_that_stops_answering_does_not_hold_up_local_delivery(self):
        clients = self.join_everywhere([["ann", "abe"], ["bob"]])
        sleeper = threading.Thread(target=self.redis.command, args=("DEBUG", "SLEEP", "4"), daemon=True)
        sleeper.start()
        started = time.monotonic()
        clients["ann"].send("said while redis sleeps")
        # Shown on ann's node once the link is given up on (1.5 s without an answer), then
        # the notice; the other node gives up too (its lease renewal goes unanswered).
        for name in ("ann", "abe"):
            self.assertEqual(clients[name].recv_until(SPLIT, timeout=4), ["ann: said while redis sleeps", SPLIT])
        self.assertLess(time.monotonic() - started, 3.9, "local delivery waited for the sleeping Redis")
        self.assertEqual(clients["bob"].recv(timeout=6), SPLIT)
        sleeper.join(timeout=10)
        for name in clients:
            self.assertEqual(clients[name].recv(timeout=15), WHOLE)
        clients["bob"].send("awake")
        # Nothing else in between: the line ann's node gave up on never reaches bob, and is
        # not shown twice on ann's node.
        for name in clients:
            self.assertEqual(clients[name].recv(), "bob: awake")


if __name__ == "__main__":
    unittest.main()


class ClusterRestartTests(ClusterTestCase):
    """A node restarted in place (SIGUSR2, as `chatroomctl restart`) keeps its members in
    the room: no leave notice elsewhere, their nicknames still theirs, lines flow both ways."""
    nodes = 2

    def test_a_node_restarted_in_place_keeps_its_members_in_the_whole_room(self):
        clients = self.join_everywhere([["alice"], ["bob"]])
        alice, bob = clients["alice"], clients["bob"]
        node = self.daemons[0]
        mark = len(node.stderr_lines)
        node.send_signal(signal.SIGUSR2)
        node.wait_for_log(r"chat_event=handover-restored", timeout=20, after=mark)
        node.wait_for_log(r"chat_event=cluster-linked", timeout=20, after=mark)
        alice.send("after the restart")
        self.assertEqual(read_until(bob, lambda line: line.startswith("alice: ")), ["alice: after the restart"],
                         "bob saw no leave or join of alice, and her line")
        self.assertEqual(read_until(alice, lambda line: line.startswith("alice: ")), ["alice: after the restart"])
        bob.send("hello alice")
        self.assertEqual(read_until(alice, lambda line: line.startswith("bob: ")), ["bob: hello alice"])
        impostor = self.connect(1)
        impostor.join("alice")
        self.assertEqual(impostor.recv(), "The nickname alice is already in use. Choose another one.")


def in_use(nick):
    return f"The nickname {nick} is already in use. Choose another one."


class ClusterRenameTests(ClusterTestCase):
    """`/nick` across nodes: the new nickname is claimed in Redis first (as a join's), every
    node shows the same notice in the channel's order, the other nodes' rosters follow,
    the old nickname is freed; while the room is split a rename goes ahead on the node's
    own members and is claimed again when the room is whole."""
    nodes = 2

    def who(self, client):
        client.send("/who")
        return client.recv()

    def wait_for_who(self, client, expected, timeout=10.0):
        """`/who` until it answers `expected` (a roster update may still be on its way)."""
        deadline = time.monotonic() + timeout
        answer = None
        while time.monotonic() < deadline:
            answer = self.who(client)
            if answer == expected:
                return
        self.assertEqual(answer, expected)

    def test_a_rename_is_shown_everywhere_and_the_rosters_follow(self):
        clients = self.join_everywhere([["ann", "abe"], ["bob"]])
        clients["ann"].send("/nick anna")
        for name in clients:
            self.assertEqual(clients[name].recv(), "ann is now known as anna.")
        # The other node's roster follows: /who, /msg to the new name, none to the old.
        # The rosters changed before the notice was sent: no wait needed.
        self.assertEqual(self.who(clients["bob"]), "3 members: abe (node1), anna (node1), bob (node2)")
        clients["bob"].send("/msg anna hello")
        self.assertEqual(clients["bob"].recv(), "[PM to anna] hello")
        self.assertEqual(clients["ann"].recv(), "[PM from bob] hello")
        clients["bob"].send("/msg ann hello")
        self.assertEqual(clients["bob"].recv(), "No member is called ann.")
        clients["ann"].send("as anna")
        for name in clients:
            self.assertEqual(clients[name].recv(), "anna: as anna")
        # A nickname held on another node: the reply a single node gives, nothing else.
        clients["bob"].send("/nick anna")
        self.assertEqual(clients["bob"].recv(), in_use("anna"))
        clients["abe"].send("/nick bob")
        self.assertEqual(clients["abe"].recv(), in_use("bob"))
        self.barrier(clients["bob"], "bob", list(clients.values()))  # nobody was told of a rename
        # The old nickname is free on every node.
        again = self.join(1, "ann", list(clients.values()))
        self.assertEqual(self.who(again), "4 members: abe (node1), ann (node2), anna (node1), bob (node2)")
        # A rename that changes only the case keeps the claim, and shows like any other.
        clients["bob"].send("/nick BOB")
        for client in list(clients.values()) + [again]:
            self.assertEqual(client.recv(), "bob is now known as BOB.")
        self.assertEqual(self.who(clients["ann"]), "4 members: abe (node1), ann (node2), anna (node1), BOB (node2)")
        impostor = self.connect(0)
        impostor.join("bob")
        self.assertEqual(impostor.recv(), in_use("bob"))

    def test_two_renames_to_one_nickname_at_the_same_moment_exactly_one_wins(self):
        clients = self.join_everywhere([["ann"], ["bob"]])
        nicks = {"ann": "ann", "bob": "bob"}
        wins = {"ann": 0, "bob": 0}
        for round_number in range(8):
            target = f"twin{round_number}"
            for name in ("ann", "bob"):
                clients[name].send(f"/nick {target}")
            frames = {name: clients[name].recv_until(lambda text: text.endswith(f" is now known as {target}."))
                      for name in ("ann", "bob")}
            notices = {frames[name][-1] for name in frames}
            self.assertEqual(len(notices), 1, frames)
            winner = next(name for name in nicks if notices == {f"{nicks[name]} is now known as {target}."})
            loser = "bob" if winner == "ann" else "ann"
            wins[winner] += 1
            self.assertEqual(frames[winner], [f"{nicks[winner]} is now known as {target}."])
            # The loser's refusal comes before or after the winner's notice.
            refusal = frames[loser][:-1] or [clients[loser].recv()]
            self.assertEqual(refusal, [in_use(target)], frames)
            nicks[winner] = target
            self.barrier(clients[loser], nicks[loser], list(clients.values()))  # nothing else
        self.assertEqual(sum(wins.values()), 8)
        self.wait_for_who(clients["ann"], " ".join(["2 members:", ", ".join(
            f"{nicks[n]} ({'node1' if n == 'ann' else 'node2'})" for n in sorted(nicks, key=lambda n: nicks[n].lower()))]))

    def test_a_rename_during_a_split_goes_ahead_locally_and_is_claimed_again_when_whole(self):
        clients = self.join_everywhere([["ann", "abe"], ["bob"]])
        self.redis.kill()
        for name in clients:
            self.assertEqual(clients[name].recv(), SPLIT)
        # Each node checks only its own members while apart: both renames to zed succeed.
        clients["ann"].send("/nick zed")
        for name in ("ann", "abe"):
            self.assertEqual(clients[name].recv(), "ann is now known as zed.")
        clients["bob"].send("/nick zed")
        self.assertEqual(clients["bob"].recv(), "bob is now known as zed.")
        clients["abe"].send("/nick abel")  # no contest: kept, and abe freed
        for name in ("ann", "abe"):
            self.assertEqual(clients[name].recv(), "abe is now known as abel.")
        self.redis.start()
        # One keeps zed, the other is renamed zed_2 and told why; nobody is told of a leave.
        seen = {name: clients[name].recv_until(WHOLE) for name in clients}
        self.assertEqual(seen["abe"], [WHOLE])
        for name in ("ann", "bob"):
            self.assertIn(seen[name], ([WHOLE], [RENAMED, WHOLE]))
        pattern = r"^3 members: abel \(node1\), zed \((node[12])\), zed_2 \((node[12])\)$"
        deadline = time.monotonic() + 10
        while True:  # until the renamed member's new claim is granted and known on node1
            match = re.match(pattern, self.who(clients["abe"]))
            if (match and match.group(1) != match.group(2)) or time.monotonic() > deadline:
                break
        self.assertTrue(match and match.group(1) != match.group(2), "the rosters never settled")
        renamed, kept = ("ann", "bob") if match.group(2) == "node1" else ("bob", "ann")
        if RENAMED not in seen[renamed]:
            self.assertEqual(clients[renamed].recv(), RENAMED)
        self.assertNotIn(RENAMED, seen[kept])
        clients[renamed].send("still here")
        for name in clients:
            self.assertEqual(clients[name].recv(), "zed_2: still here")
        for name in ("ann", "bob"):
            self.wait_for_who(clients[name], match.group(0))
        # The nicknames given up during the split are free again; those taken are not.
        for node, nick, answer in ((1, "ann", None), (0, "abe", None), (1, "zed", in_use("zed")), (0, "abel", in_use("abel"))):
            client = self.connect(node)
            client.join(nick)
            self.assertEqual(client.recv(), answer or "Connected to the server", nick)
            if answer is None:
                client.recv_until(f"{nick} has joined the chat!")


class ClusterControlTests(ClusterTestCase):
    """`chatroomctl who` and `stats` on a node of a cluster: every member with its node,
    and the room-wide counts apart from the node's own figures."""
    nodes = 2

    def start_node(self, index):
        socket_path = os.path.join(temporary_directory(self), "control")
        daemon = start_node(self, self.redis, f"node{index + 1}", extra=["--control-socket", socket_path])
        daemon.control_socket = socket_path
        return daemon

    def ctl(self, node, *args):
        result = run_chatroomctl("--socket", self.daemons[node].control_socket, *args)
        self.assertEqual(result.returncode, 0, result.stderr)
        return result.stdout

    def test_who_lists_every_member_of_the_room_with_its_node_from_either_node(self):
        self.assertEqual(self.ctl(0, "who"), "No members online.\n")
        clients = self.join_everywhere([["ann", "zoe"], ["bob"]])
        admin = self.join_admin(1, list(clients.values()))
        for node in (0, 1):
            listed = json.loads(self.ctl(node, "--json", "who"))
            self.assertIs(listed["ok"], True)
            self.assertEqual([(m["nick"], m["node"], m["local"]) for m in listed["members"]],
                             [("admin", "node2", node == 1), ("ann", "node1", node == 0),
                              ("bob", "node2", node == 1), ("zoe", "node1", node == 0)])
            for member in listed["members"]:
                self.assertEqual("peer" in member, member["local"], member)
                if member["nick"] == "admin" and member["local"]:
                    self.assertIs(member["admin"], True)
        plain = self.ctl(0, "who").splitlines()
        self.assertEqual([line.split("  ")[:2] for line in plain],
                         [["admin", "node node2"], ["ann", "node node1"], ["bob", "node node2"], ["zoe", "node node1"]])
        self.assertRegex(plain[1], r"^ann  node node1  127\.0\.0\.1:\d+$")
        self.assertEqual(self.ctl(1, "who").splitlines()[0].split("  ")[0], "admin [admin]")
        # The same list as a member's /who.
        admin.send("/who")
        self.assertEqual(admin.recv(), "4 members: admin (node2) [admin], ann (node1), bob (node2), zoe (node1)")

    def test_stats_give_the_room_wide_counts_and_this_nodes_own(self):
        clients = self.join_everywhere([["ann", "zoe"], ["bob"]])
        clients["ann"].send("hello")
        for name in clients:
            self.assertEqual(clients[name].recv(), "ann: hello")
        for node, here in ((0, 2), (1, 1)):
            stats = json.loads(self.ctl(node, "--json", "stats"))
            self.assertIs(stats["ok"], True)
            self.assertIs(stats["cluster_linked"], True)
            self.assertEqual((stats["node"], stats["room"]), (f"node{node + 1}", "lobby"))
            self.assertEqual((stats["room_members"], stats["room_nodes"]), (3, 2))
            self.assertEqual(stats["members"], here, "members: this node's own")
            self.assertGreaterEqual(stats["connections"], here)
            self.assertEqual(stats["messages_relayed"], 1)
        plain = self.ctl(1, "stats").splitlines()
        self.assertEqual(plain[:3], ["room lobby, every node (linked):", "room_members: 3", "room_nodes: 2"])
        self.assertEqual(plain[3], "this node, node2:")
        self.assertIn("members: 1", plain[4:])
        # While split, a node counts only its own members, and says so.
        self.redis.kill()
        for name in clients:
            self.assertEqual(clients[name].recv(), SPLIT)
        stats = json.loads(self.ctl(0, "--json", "stats"))
        self.assertEqual((stats["cluster_linked"], stats["room_members"], stats["room_nodes"], stats["members"]), (False, 2, 1, 2))
        self.assertEqual(self.ctl(0, "stats").splitlines()[0],
                         "room lobby, every node (split: the other nodes' members are not counted):")
