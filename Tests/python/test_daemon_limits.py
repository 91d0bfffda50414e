"""Protection against misbehaving clients: connection caps (total and per address),
the handshake timeout, and flood control, over real sockets.

Nothing sleeps: waits are blocking reads with deadlines. A slot freed by a close is
known to be free once another member has been told about the leave, because the daemon
releases the slot and announces the leave in the same event.
"""

import time
import unittest

from chat_test_support import ChatAssertions
from chatroomd_fixture import DaemonTestCase
from original_client import encode_header


class PerAddressLimitTests(ChatAssertions, DaemonTestCase):
    daemon_args = ("--max-connections-per-address", "2")

    def test_the_third_connection_from_one_address_is_refused_others_still_connect(self):
        alice = self.join("alice", source="127.0.0.1")
        waiting = self.connect(source="127.0.0.1")  # not joined yet: it counts all the same
        third = self.connect(source="127.0.0.1")
        self.expect(third, "Too many connections from your address (the limit is 2).")
        self.assertClosed(third)
        self.daemon.wait_for_log(r"chat_event=connection-limit .*Too many connections from your address")

        self.join("bob", source="127.0.0.2")
        self.expect(alice, "bob has joined the chat!")
        self.join("bob2", source="127.0.0.2")
        self.expect(alice, "bob2 has joined the chat!")

        # The waiting connection may still join; a slot freed by a leave is reusable.
        waiting.join("carol")
        self.assertEqual(waiting.recv_n(2), ["Connected to the server", "carol has joined the chat!"])
        self.expect(alice, "carol has joined the chat!")
        waiting.close()  # abrupt, no !DC
        self.expect(alice, "[CLIENT DISCONNECT - carol]")
        again = self.join("dave", source="127.0.0.1")
        self.expect(alice, "dave has joined the chat!")
        self.barrier(again, "dave", [alice, again])


class LimitReleaseTests(ChatAssertions, DaemonTestCase):
    daemon_args = ("--max-connections-per-address", "1")

    def test_a_slot_held_by_a_kicked_member_is_released_when_its_socket_closes(self):
        admin = self.join_admin()
        bob = self.join("bob", source="127.0.0.2")
        self.expect(admin, "bob has joined the chat!")
        admin.send("/kick bob")
        self.expect(bob, "You have been kicked by an admin.")
        self.assertClosed(bob)
        self.expect(admin, "bob has been kicked from the server.")
        bob.close()
        # The daemon releases the slot when it sees the kicked socket's EOF, which no
        # member is told about: retry (bounded) until the address is admitted again.
        deadline = time.monotonic() + 5
        attempts = []
        while True:
            client = self.connect(source="127.0.0.2")
            client.join("bob")
            first = client.recv()
            attempts.append(first)
            if first == "Connected to the server":
                break
            self.assertEqual(first, "Too many connections from your address (the limit is 1).")
            self.assertClosed(client)
            client.close()
            self.assertLess(time.monotonic(), deadline, f"the slot was never released: {attempts}")
        self.expect(client, "bob has joined the chat!")
        self.expect(admin, "bob has joined the chat!")


class TotalLimitTests(ChatAssertions, DaemonTestCase):
    daemon_args = ("--max-connections", "2")

    def test_beyond_the_total_a_connection_is_told_the_server_is_full(self):
        alice = self.join("alice", source="127.0.0.2")
        bob = self.join("bob", source="127.0.0.3")
        self.expect(alice, "bob has joined the chat!")
        refused = self.connect(source="127.0.0.4")
        self.expect(refused, "The server is full (2 connections); try again later.")
        self.assertClosed(refused)
        bob.close()
        self.expect(alice, "[CLIENT DISCONNECT - bob]")
        self.join("carol", source="127.0.0.4")
        self.expect(alice, "carol has joined the chat!")


class HandshakeTimeoutTests(ChatAssertions, DaemonTestCase):
    daemon_args = ("--handshake-timeout", "0.5")

    def test_an_idle_connection_is_told_and_closed_while_members_stay(self):
        alice = self.join("alice", source="127.0.0.2")
        started = time.monotonic()
        idle = self.connect(source="127.0.0.3")
        self.assertEqual(idle.recv(timeout=5), "Timed out waiting for NICK:<nickname> or admin:<password>.")
        self.assertClosed(idle)
        self.assertGreaterEqual(time.monotonic() - started, 0.5)
        self.daemon.wait_for_log(r"chat_event=handshake-timeout")
        # A half-sent greeting does not count as joined either.
        partial = self.connect(source="127.0.0.4")
        partial.send_raw(encode_header(9), b"NICK")
        self.assertEqual(partial.recv(timeout=5), "Timed out waiting for NICK:<nickname> or admin:<password>.")
        self.assertClosed(partial)
        # The member who joined in time is unaffected.
        self.barrier(alice, "alice", [alice])


class FloodControlTests(ChatAssertions, DaemonTestCase):
    seed_behaviour = ("--history-lines", "0")
    daemon_args = ("--flood-rate", "1", "--flood-burst", "3", "--flood-disconnect-after", "5")

    def test_a_flooder_is_refused_then_disconnected_and_the_room_is_told(self):
        alice = self.join("alice", source="127.0.0.2")
        bob = self.join("bob", source="127.0.0.3")
        self.expect(alice, "bob has joined the chat!")
        # Eight messages at once: three fit the burst, the next four are refused, the
        # fifth refusal in a row disconnects.
        alice.sock.sendall(b"".join(encode_header(len(text)) + text.encode()
                                    for text in (f"flood {i}" for i in range(8))))
        frames = []
        while True:
            text = alice.recv()
            if text is None:
                break
            frames.append(text)
        delivered = [text for text in frames if text.startswith("alice: ")]
        refused = [text for text in frames if text == "You are sending messages too fast; that one was not delivered."]
        self.assertEqual(delivered, ["alice: flood 0", "alice: flood 1", "alice: flood 2"], frames)
        self.assertEqual(len(refused), 4, frames)
        self.assertEqual(frames[-1], "You have been disconnected for flooding.", frames)
        self.assertEqual(len(frames), 8, frames)

        self.assertEqual(bob.recv_n(4), ["alice: flood 0", "alice: flood 1", "alice: flood 2",
                                         "alice was disconnected for flooding."])
        self.daemon.wait_for_log(r"chat_event=flood-disconnect")
        # bob, who kept to the rate, is fine; alice may come back.
        self.join("alice", source="127.0.0.2")
        self.expect(bob, "alice has joined the chat!")

    def test_admins_are_exempt(self):
        admin = self.join_admin()
        admin.sock.sendall(b"".join(encode_header(len(text)) + text.encode()
                                    for text in (f"notice {i}" for i in range(8))))
        self.assertEqual(admin.recv_n(8), [f"admin: notice {i}" for i in range(8)])


if __name__ == "__main__":
    unittest.main()
