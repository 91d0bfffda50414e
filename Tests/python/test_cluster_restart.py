"""A cluster node restarted in place keeps its members in the whole room even for what they
say before its successor has linked: Redis holds every write for a moment (CLIENT PAUSE
WRITE), so the successor's link script waits while a member types. The line must reach
the other node too, once, and not be shown on its own node first (as a split would). And a
line still on its way through Redis when the node hands over is shown on its node, once.
Tests/systemd/cluster_restart_inside.py covers `systemctl restart` and `kill -9` of a node
under systemd."""

import signal
import unittest

from cluster_support import ClusterTestCase, read_frames, read_until


class ClusterRestartHoldTests(ClusterTestCase):
    nodes = 2

    def test_a_line_said_before_the_successor_links_reaches_the_whole_room_once(self):
        clients = self.join_everywhere([["alice"], ["bob"]])
        alice, bob = clients["alice"], clients["bob"]
        node = self.daemons[0]
        mark = len(node.stderr_lines)
        # Under the 1.5 s after which a node treats Redis as gone.
        self.assertEqual(self.redis.command("CLIENT", "PAUSE", "1200", "WRITE"), "+OK")
        node.send_signal(signal.SIGUSR2)
        node.wait_for_log(r"chat_event=handover-restored", timeout=20, after=mark)
        alice.send("while the link is being made")
        linked = node.wait_for_log(r"chat_event=cluster-linked", timeout=20, after=mark)
        self.assertIsNotNone(linked)
        self.assertFalse(any("not linked to the cluster" in line for line in node.stderr_lines[mark:]),
                         "the successor linked within its hold")
        self.assertEqual(read_until(bob, lambda line: line.startswith("alice: ")), ["alice: while the link is being made"],
                         "bob saw no leave or join, and alice's line")
        self.assertEqual(read_until(alice, lambda line: line.startswith("alice: ")), ["alice: while the link is being made"])
        bob.send("after it")
        self.assertEqual(read_frames(alice, 1), ["bob: after it"], "alice's line came once")
        self.assertEqual(read_frames(bob, 1), ["bob: after it"])

    def test_a_line_not_yet_back_from_redis_at_the_restart_is_shown_on_its_node_once(self):
        clients = self.join_everywhere([["alice"], ["bob"]])
        alice, bob = clients["alice"], clients["bob"]
        node = self.daemons[0]
        mark = len(node.stderr_lines)
        self.assertEqual(self.redis.command("CLIENT", "PAUSE", "1200", "WRITE"), "+OK")
        alice.send("just before the restart")
        alice.send("/who")  # answered by the node itself: once it comes, the line was published
        self.assertEqual(read_until(alice, lambda line: line.startswith("2 members")), ["2 members: alice (node1), bob (node2)"],
                         "the line is not shown before it comes back from Redis")
        node.send_signal(signal.SIGUSR2)
        node.wait_for_log(r"chat_event=cluster-linked", timeout=20, after=mark)
        self.assertEqual(read_frames(alice, 1), ["alice: just before the restart"],
                         "shown by the node as it handed over: its echo reaches neither process")
        # Whether bob sees it depends on Redis: a paused client's command is dropped when its
        # connection closes (the old process's, at the exec). Not asserted.
        bob.send("after it")
        self.assertEqual(read_frames(alice, 1), ["bob: after it"], "alice's line came once")
        self.assertEqual(read_until(bob, lambda line: line == "bob: after it")[-1], "bob: after it")

    def test_one_member_sending_too_much_before_the_link_is_let_through_alone(self):
        clients = self.join_everywhere([["alice", "abe"], ["bob"]])
        alice, abe, bob = clients["alice"], clients["abe"], clients["bob"]
        node = self.daemons[0]
        mark = len(node.stderr_lines)
        self.assertEqual(self.redis.command("CLIENT", "PAUSE", "1200", "WRITE"), "+OK")
        node.send_signal(signal.SIGUSR2)
        node.wait_for_log(r"chat_event=handover-restored", timeout=20, after=mark)
        alice.send("while the link is being made")
        # More than the hold keeps for one connection (256 KiB), in one write.
        flood = [f"{i:03d} " + "x" * 996 for i in range(300)]
        abe.sock.sendall(b"".join(b"%-64d" % len(line) + line.encode() for line in flood))
        node.wait_for_log(r"sent more than 256 KiB before this node linked", timeout=20, after=mark)
        node.wait_for_log(r"chat_event=cluster-linked", timeout=20, after=mark)
        self.assertFalse(any("arrived before this node linked" in line or "not linked to the cluster" in line
                             for line in node.stderr_lines[mark:]), "the hold was kept for everyone else")
        # alice's line still went through the channel: bob gets it, and nothing of abe's.
        self.assertEqual(read_until(bob, lambda line: line.startswith("alice: ")), ["alice: while the link is being made"])
        # On abe's own node his lines came at once, in order, before alice's (held) line.
        seen = read_until(alice, lambda line: line.startswith("alice: "))
        self.assertEqual(seen, [f"abe: {line}" for line in flood] + ["alice: while the link is being made"])


if __name__ == "__main__":
    unittest.main()
