"""What the cluster tests share: a real redis-server per test (redis_fixture), nodes
started against it, members joined on any node, and frame reads with deadlines."""

import os
import time
import unittest

from chat_test_support import ChatAssertions
from chatroomd_fixture import ADMIN_PASSWORD
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
    with_control_socket = False  # True: each node has one, for `ctl`

    def setUp(self):
        super().setUp()
        self.redis = RedisServer(temporary_directory(self)).start()
        self.addCleanup(self.redis.kill)
        self.daemons = [self.start_node(i) for i in range(self.nodes)]

    def start_node(self, index):
        if not self.with_control_socket:
            return start_node(self, self.redis, f"node{index + 1}", seed_behaviour=self.seed_behaviour)
        socket_path = os.path.join(temporary_directory(self), "control")
        daemon = start_node(self, self.redis, f"node{index + 1}", extra=["--control-socket", socket_path],
                            seed_behaviour=self.seed_behaviour)
        daemon.control_socket = socket_path
        return daemon

    def ctl(self, node, *args):
        """chatroomctl against node `node`'s control socket; its output."""
        result = run_chatroomctl("--socket", self.daemons[node].control_socket, *args)
        self.assertEqual(result.returncode, 0, result.stderr)
        return result.stdout

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
