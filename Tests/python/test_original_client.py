"""The real chatroomd, driven by a client that behaves exactly like the original Python
chat client (header and payload in separate send() calls, recv(64) then recv(length)).

Each test gets its own daemon on an ephemeral loopback port. Nothing here sleeps: every
wait is a blocking read with a deadline. To show that something did NOT happen (no join
notice after a refused login, say), a member sends a "barrier" message afterwards: the
daemon handles events one at a time on one thread, so a notice would have arrived first.
"""

import socket
import threading
import unittest

from chatroomd_fixture import DaemonTestCase
from original_client import HEADER, encode_header

MESSAGES_PER_CLIENT = 25


class ChatTests(DaemonTestCase):

    def assertClosed(self, client, after=None):
        """The next read sees the server's close (EOF), with no further frame."""
        text = client.recv()
        self.assertIsNone(text, f"expected the connection to close{' after ' + repr(after) if after else ''}, "
                                f"got another frame {text!r}")

    def barrier(self, sender, nick, receivers, text="barrier"):
        """`sender` says `text`; each receiver's very next frame must be it."""
        sender.send(text)
        for receiver in receivers:
            self.assertEqual(receiver.recv(), f"{nick}: {text}")

    def test_three_clients_chat_in_one_order(self):
        alice = self.join("alice")
        bob = self.join("bob")
        self.assertEqual(alice.recv(), "bob has joined the chat!")
        carol = self.join("carol")
        self.assertEqual(alice.recv(), "carol has joined the chat!")
        self.assertEqual(bob.recv(), "carol has joined the chat!")

        clients = {"alice": alice, "bob": bob, "carol": carol}
        expected = {nick: [f"{nick}: message {i} from {nick}" for i in range(MESSAGES_PER_CLIENT)]
                    for nick in clients}
        errors = []

        def talk(nick):
            try:
                for line in expected[nick]:
                    clients[nick].send(line.split(": ", 1)[1])
            except Exception as error:  # reported by the main thread
                errors.append((nick, error))

        senders = [threading.Thread(target=talk, args=(nick,)) for nick in clients]
        for thread in senders:
            thread.start()
        total = MESSAGES_PER_CLIENT * len(clients)
        received = {nick: client.recv_n(total, timeout=10) for nick, client in clients.items()}
        for thread in senders:
            thread.join(timeout=10)
        self.assertEqual(errors, [])

        reference = received["alice"]
        self.assertCountEqual(reference, [line for lines in expected.values() for line in lines])
        for nick in ("bob", "carol"):
            self.assertEqual(received[nick], reference, f"{nick} saw the messages in another order than alice")
        for nick, lines in expected.items():
            own = [line for line in reference if line.startswith(f"{nick}: ")]
            self.assertEqual(own, lines, f"{nick}'s messages were reordered")

        # Unicode goes through unchanged, and leaving with !DC is announced to the rest.
        bob.send("naïve café ☕ 日本語")
        for client in clients.values():
            self.assertEqual(client.recv(), "bob: naïve café ☕ 日本語")
        carol.disconnect()
        self.assertEqual(alice.recv(), "[CLIENT DISCONNECT - carol]")
        self.assertEqual(bob.recv(), "[CLIENT DISCONNECT - carol]")
        self.barrier(alice, "alice", [alice, bob])

    def test_admin_kicks_a_member(self):
        admin = self.join_admin()
        bob = self.join("bob")
        carol = self.join("carol")
        self.assertEqual(admin.recv_n(2), ["bob has joined the chat!", "carol has joined the chat!"])
        self.assertEqual(bob.recv(), "carol has joined the chat!")

        carol.send("/kick bob")
        self.assertEqual(carol.recv(), "Only an admin can use /kick.")

        admin.send("/kick bob")
        self.assertEqual(bob.recv(), "You have been kicked by an admin.")
        self.assertClosed(bob, after="the kick notice")
        self.assertEqual(admin.recv(), "bob has been kicked from the server.")
        self.assertEqual(carol.recv(), "bob has been kicked from the server.")
        self.barrier(carol, "carol", [admin, carol], text="still here")

        # A kick is not a ban: bob may come straight back under the same nick.
        bob_again = self.join("bob")
        self.assertEqual(admin.recv(), "bob has joined the chat!")
        self.assertEqual(carol.recv(), "bob has joined the chat!")
        self.barrier(bob_again, "bob", [admin, carol, bob_again], text="back")
        self.daemon.wait_for_log(r"bob was kicked by admin")

    def test_admin_bans_an_address(self):
        admin = self.join_admin(source="127.0.0.1")
        mallory = self.join("mallory", source="127.0.0.2")
        self.assertEqual(mallory.local_address, "127.0.0.2")
        self.assertEqual(admin.recv(), "mallory has joined the chat!")

        admin.send("/ban mallory")
        self.assertEqual(mallory.recv(), "You have been banned by an admin.")
        self.assertClosed(mallory, after="the ban notice")
        self.assertEqual(admin.recv(), "mallory has been banned from the server.")
        self.daemon.wait_for_log(r"mallory \(127\.0\.0\.2\) was banned by admin")

        # Back from the banned address under another nick: refused on connect. The server
        # sends the notice and closes at once, so the original client's two send() calls
        # for its NICK: frame may find the connection already reset; that is not the point.
        again = self.connect(source="127.0.0.2")
        try:
            again.join("innocent")
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.assertEqual(again.recv(), "You are banned from this server.")
        self.assertClosed(again, after="the banned notice")
        self.daemon.wait_for_log(r"Refused a connection from banned address 127\.0\.0\.2")

        # The room saw nothing of it, and another loopback address still joins.
        bob = self.join("bob", source="127.0.0.3")
        self.assertEqual(bob.local_address, "127.0.0.3")
        self.assertEqual(admin.recv(), "bob has joined the chat!")
        self.barrier(bob, "bob", [admin, bob])

    def test_wrong_admin_password_is_refused(self):
        alice = self.join("alice")
        intruder = self.connect()
        intruder.login_admin("not the password")
        self.assertEqual(intruder.recv(), "Incorrect password.")
        self.assertClosed(intruder, after="the refusal")
        self.barrier(alice, "alice", [alice])  # no "An admin has joined the chat!" before it

        self.daemon.wait_for_log(r"Failed admin login from 127\.0\.0\.1")
        self.assertNotIn("not the password", self.daemon.stderr, "the attempted password was logged")

        # The right password still works afterwards.
        self.join_admin()
        self.assertEqual(alice.recv(), "An admin has joined the chat!")

    def test_duplicate_nick_is_refused(self):
        alice = self.join("alice")
        for nick in ("alice", "ALICE"):
            with self.subTest(nick=nick):
                twin = self.connect()
                twin.join(nick)
                reply = twin.recv()
                self.assertNotEqual(reply, "Connected to the server")
                self.assertEqual(reply, f"The nickname {nick} is already in use. Choose another one.")
                self.assertClosed(twin, after="the refusal")
        self.barrier(alice, "alice", [alice], text="I am the only alice")

    def test_malformed_header_gets_one_error_then_close(self):
        self._protocol_error_test(b"12ab".ljust(HEADER, b" "), b"twelve bytes",
                                  "Protocol error: malformed frame header")

    def test_oversize_length_gets_one_error_then_close(self):
        # The original client would send the whole payload after the header.
        self._protocol_error_test(encode_header(70000), b"x" * 70000,
                                  "Protocol error: frame too large (70000 bytes; the limit is 65536)")

    def _protocol_error_test(self, header, payload, expected_prefix):
        alice = self.join("alice")
        bob = self.join("bob")
        self.assertEqual(alice.recv(), "bob has joined the chat!")
        mallet = self.join("mallet")
        self.assertEqual(alice.recv(), "mallet has joined the chat!")
        self.assertEqual(bob.recv(), "mallet has joined the chat!")

        try:
            mallet.send_raw(header, payload)
        except (BrokenPipeError, ConnectionResetError) as error:
            self.fail(f"the connection was reset while the bad frame was being sent: {error!r}")
        error_frame = mallet.recv()
        self.assertTrue(error_frame.startswith("Protocol error:"), error_frame)
        self.assertTrue(error_frame.startswith(expected_prefix), error_frame)
        self.assertClosed(mallet, after="the protocol error")

        for member in (alice, bob):
            self.assertEqual(member.recv(), "[CLIENT DISCONNECT - mallet]")
        self.barrier(alice, "alice", [alice, bob], text="carry on")
        self.barrier(bob, "bob", [alice, bob], text="carrying on")
        self.daemon.wait_for_log(r"chat_event=protocol-error.*chat_nick=mallet")

    def test_malformed_header_before_joining(self):
        alice = self.join("alice")
        stranger = self.connect()
        stranger.send_raw(b"-5".ljust(HEADER, b" "), b"hello")
        error_frame = stranger.recv()
        self.assertTrue(error_frame.startswith("Protocol error:"), error_frame)
        self.assertClosed(stranger, after="the protocol error")
        self.barrier(alice, "alice", [alice])  # no leave notice for someone who never joined

    def test_sigterm_tells_every_member_then_exits_zero(self):
        members = [self.join("alice"), self.join("bob"), self.join_admin()]
        self.assertEqual(members[0].recv_n(2), ["bob has joined the chat!", "An admin has joined the chat!"])
        self.assertEqual(members[1].recv(), "An admin has joined the chat!")
        pending_greeting = self.connect()  # connected, never joined: closed without a notice

        self.daemon.send_signal()
        for member in members:
            self.assertEqual(member.recv(), "Server is shutting down.")
            self.assertClosed(member, after="the shutdown notice")
            member.close()
        self.assertClosed(pending_greeting)
        pending_greeting.close()

        self.assertEqual(self.daemon.wait(), 0, self.daemon.stderr)
        log = self.daemon.stderr
        self.assertIn("SIGTERM: shutting down", log)
        self.assertIn("chatroomd stopped", log)
        self.assertNotIn("grace period over", log, "connections were dropped instead of closed cleanly")

        # Nobody is listening any more.
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", self.port), timeout=5).close()


if __name__ == "__main__":
    unittest.main()
