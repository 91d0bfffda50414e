"""One room over three nodes when things fail: a node killed with SIGKILL, Redis killed
and restarted, a nickname taken on both sides of a split, a node too slow for its Redis
output buffer, a Redis that stops answering (DEBUG SLEEP). See test_cluster.py for the
setting; nothing sleeps."""

import signal
import threading
import time
import unittest

from cluster_support import SPLIT, WHOLE, RENAMED, read_frames, read_until, ClusterTestCase


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


if __name__ == "__main__":
    unittest.main()
