"""What one turn of a node publishes goes to Redis as one batch (ClusterLink+Batching):
checked on the channel itself, with a subscriber of the test's own, and only while every
node of the room says it reads batches; a node that says nothing (a 0.4 node) gets every
message on its own."""

import socket
import time
import unittest

from cluster_support import ClusterTestCase, read_frames

CHANNEL = b"chatroomd:{lobby}:channel"
DEADLINE = 15.0
POLL = 0.1


class ChannelListener:
    """A raw RESP subscriber to the room's channel: what a node of another version sees."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.buffer = b""
        self.sock.sendall(b"*2\r\n$9\r\nSUBSCRIBE\r\n$%d\r\n%s\r\n" % (len(CHANNEL), CHANNEL))
        kind, _, _ = self.next_reply(DEADLINE)
        assert kind == b"subscribe", kind

    def close(self):
        self.sock.close()

    def _line(self, deadline):
        while b"\r\n" not in self.buffer:
            self._fill(deadline)
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def _fill(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError("nothing from Redis in time")
        self.sock.settimeout(remaining)
        chunk = self.sock.recv(1 << 16)
        if not chunk:
            raise AssertionError("Redis closed the subscription")
        self.buffer += chunk

    def next_reply(self, timeout):
        """The next pushed array of three: kind, channel, payload."""
        deadline = time.monotonic() + timeout
        header = self._line(deadline)
        assert header == b"*3", header
        items = []
        for _ in range(3):
            head = self._line(deadline)
            if head.startswith(b":"):
                items.append(int(head[1:]))
                continue
            length = int(head[1:])
            while len(self.buffer) < length + 2:
                self._fill(deadline)
            items.append(self.buffer[:length])
            self.buffer = self.buffer[length + 2:]
        return items

    def payloads_until(self, marker, timeout=DEADLINE):
        """Every payload up to the one holding `marker` (bytes)."""
        payloads = []
        while not payloads or marker not in payloads[-1]:
            kind, _, payload = self.next_reply(timeout)
            if kind == b"message":
                payloads.append(payload)
        return payloads


def burst(client, lines):
    """Every line in one write, so the node reads them in one turn."""
    data = b""
    for line in lines:
        payload = line.encode()
        data += str(len(payload)).encode().ljust(64) + payload
    client.sock.sendall(data)


class ClusterBatchTests(ClusterTestCase):
    nodes = 2

    def setUp(self):
        super().setUp()
        self.listener = ChannelListener(self.redis.path)
        self.addCleanup(self.listener.close)
        self.clients = self.join_everywhere([["ann"], ["bob"]])
        self.rounds = 0

    def say_a_burst(self):
        """20 lines from ann in one write; returns the channel's payloads that carried them,
        after checking both members got all 20, in order."""
        self.rounds += 1
        lines = [f"round {self.rounds} line {i}" for i in range(20)]
        burst(self.clients["ann"], lines)
        payloads = self.listener.payloads_until(lines[-1].encode())
        for name in ("ann", "bob"):
            self.assertEqual(read_frames(self.clients[name], len(lines)), [f"ann: {line}" for line in lines])
        return payloads

    def bursts_until(self, predicate, what):
        """Bursts until one is published as `predicate` wants. The nodes ask Redis about
        batches once a second, so a burst every POLL (well within flood control) is
        enough to see the change."""
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            payloads = self.say_a_burst()
            if predicate(payloads):
                return payloads
            time.sleep(POLL)  # the interval of a poll bounded by the deadline, not a wait for an event
        self.fail(f"no burst {what} within {DEADLINE} s")

    def test_a_burst_goes_out_as_batches_and_one_by_one_while_an_older_node_is_linked(self):
        # Once the nodes know every node reads batches (their first check, within a second).
        batched = self.bursts_until(lambda p: any(x.startswith(b"B") for x in p), "published as a batch")
        self.assertLess(len(batched), 20, "20 lines, fewer PUBLISHes")
        # A node of 0.4 links: in the set of nodes, with a lease, stating no protocol.
        self.assertEqual(self.redis.command("SADD", "chatroomd:{lobby}:nodes", "old"), ":1")
        self.assertEqual(self.redis.command("SET", "chatroomd:{lobby}:lease:old", "1", "PX", "60000"), "+OK")
        self.bursts_until(lambda p: all(x.startswith(b"1") for x in p), "one message a PUBLISH")
        # And it stays so: three more bursts, each line on its own.
        for _ in range(3):
            payloads = self.say_a_burst()
            self.assertTrue(all(x.startswith(b"1") for x in payloads), payloads[:3])
            self.assertGreaterEqual(len(payloads), 20)
        # The old node leaves: batches again.
        self.assertEqual(self.redis.command("SREM", "chatroomd:{lobby}:nodes", "old"), ":1")
        self.bursts_until(lambda p: any(x.startswith(b"B") for x in p), "published as a batch again")

    def test_a_line_alone_is_published_on_its_own(self):
        self.bursts_until(lambda p: any(x.startswith(b"B") for x in p), "published as a batch")
        self.clients["bob"].send("just one")
        payloads = self.listener.payloads_until(b"just one")
        self.assertTrue(payloads[-1].startswith(b"1L"), payloads[-1])
        for name in ("ann", "bob"):
            self.assertEqual(read_frames(self.clients[name], 1), ["bob: just one"])


if __name__ == "__main__":
    unittest.main()
