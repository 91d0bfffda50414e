"""Connections that outlive the process, through systemd's file descriptor store
(played by StoreDouble): `systemctl restart` (SIGUSR1, chatroomd.service's
RestartKillSignal=) hands every connection and the state over; a crash (`kill -9`) loses
no connection, the crash journal says who each one was; what cannot be restored is told
why; a newer state format is refused cleanly; stored descriptors nobody knows are closed.
"""

import os
import signal
import socket
import threading
import unittest

from chat_test_support import ChatAssertions
from chatroomd_fixture import ADMIN_PASSWORD
from fd_store_double import DEADLINE, StoreDouble
from original_client import DEFAULT_TIMEOUT, OriginalClient

HANDED_TO_STORE = 75  # chatroomd's exit status after SIGUSR1 (SuccessExitStatus= in the unit)
RESTORED_AFTER_FAILURE = ("The server restarted after a failure and kept your connection; "
                          "lines sent in its last moments may be lost.")


class StoreTestCase(ChatAssertions, unittest.TestCase):

    def setUp(self):
        self.store = StoreDouble()
        self.addCleanup(self.store.close)
        self.store.spawn()
        self.store.wait_ready()
        self.store.wait_until(lambda: self.store.count("journal") == 2, "the crash journal stored")

    def connect(self, source):
        return self.connect_to(self.store.port, source)

    def join(self, nick, source, observers=()):
        return self.join_to(self.store.port, nick, source, observers)

    def admin(self, source="127.0.0.1"):
        admin = self.connect(source)
        admin.login_admin(ADMIN_PASSWORD)
        self.assertEqual(admin.recv_n(2), ["Connected to the server", "An admin has joined the chat!"])
        return admin

    def respawn(self):
        mark = self.store.log_length()
        self.store.spawn()
        return mark


class SystemctlRestartTests(StoreTestCase):

    def test_every_connection_and_the_state_go_through_the_store(self):
        admin = self.admin()
        alice = self.join("alice", "127.0.0.2", [admin])
        bob = self.join("bob", "127.0.0.3", [admin, alice])
        carol = self.join("carol", "127.0.0.4", [admin, alice, bob])
        admin.send("/mute carol 1h")
        self.expect(carol, "You have been muted by an admin for 1h.")
        for client in (admin, alice, bob):
            self.expect(client, "carol has been muted for 1h.")
        self.store.wait_until(lambda: self.store.count("c") == 4, "four connections stored")

        half = b"said across the restart"
        alice.sock.sendall(b"%-64d" % len(half) + half[:7])
        sent = [f"line {i}" for i in range(60)]
        errors = []

        def talk():
            try:
                for text in sent:
                    bob.send(text)
            except Exception as error:  # reported below
                errors.append(error)

        greeter = self.connect("127.0.0.6")  # connected, not joined yet: not in the store until the restart
        talker = threading.Thread(target=talk)
        talker.start()
        self.store.kill(signal.SIGUSR1)
        self.assertEqual(self.store.wait_exit(), HANDED_TO_STORE)
        self.assertEqual(self.store.count("handover"), 1, "the state is in the store")
        mark = self.respawn()
        restored = self.store.wait_for_log(r"took over (\d+) connection\(s\).*paused (\d+) ms", after=mark)
        self.assertEqual(restored.group(1), "5")
        talker.join(timeout=DEADLINE)
        self.assertEqual(errors, [])
        alice.sock.sendall(half[7:])

        expected = [f"bob: {text}" for text in sent]
        for client in (admin, alice, bob, carol):
            lines = client.recv_until(lambda text: text == "alice: said across the restart")
            self.assertEqual(lines, expected + ["alice: said across the restart"],
                             "every line once, in order, and no notice: nobody sees the restart")
        greeter.join("erin")
        self.assertEqual(greeter.recv_n(2), ["Connected to the server", "erin has joined the chat!"],
                         "a connection still greeting came through too")
        for client in (admin, alice, bob, carol):
            self.expect(client, "erin has joined the chat!")
        carol.send("still muted?")
        self.expect_match(carol, r"^You are muted for (1h|59m \d+s)\.$")
        alice.send("/who")
        self.expect(alice, "5 members: admin [admin], alice, bob, carol [muted], erin")
        admin.send("/kick bob enough")
        self.expect(bob, "You have been kicked by an admin. Reason: enough")
        self.store.wait_until(lambda: self.store.count("handover") == 0, "the used state removed from the store")
        self.store.wait_until(lambda: self.store.count("c") == 4, "bob's connection dropped from the store")

    def test_a_second_restart_in_a_row_keeps_everyone_too(self):
        alice = self.join("alice", "127.0.0.2")
        for round in range(2):
            self.store.kill(signal.SIGUSR1)
            self.assertEqual(self.store.wait_exit(), HANDED_TO_STORE)
            mark = self.respawn()
            self.store.wait_for_log(r"took over 1 connection\(s\)", after=mark)
            alice.send(f"after restart {round}")
            self.expect(alice, f"alice: after restart {round}")


class TLSRestartTests(StoreTestCase):
    """TLS sessions cannot be handed over (their keys live in OpenSSL): a TLS member is
    never stored, and a restart tells it so and closes it; plaintext members stay."""

    def setUp(self):
        from tls_test_support import make_certificate
        directory = self.enterContext(__import__("tempfile").TemporaryDirectory(prefix="chatroomd-store-tls-"))
        self.certificate, key = make_certificate(directory)
        self.store = StoreDouble(extra_args=["--tls-certificate", self.certificate, "--tls-key", key], tls_listener=True)
        self.addCleanup(self.store.close)
        self.store.spawn()
        self.store.wait_ready()

    def test_a_tls_member_is_told_and_closed_and_plaintext_members_stay(self):
        from tls_test_support import TLSClient
        alice = self.join("alice", "127.0.0.2")
        secure = TLSClient.connect_tls(self.store.tls_port, self.certificate, source="127.0.0.3")
        self.addCleanup(secure.close)
        secure.join("tina")
        self.assertEqual(secure.recv_n(2), ["Connected to the server", "tina has joined the chat!"])
        self.expect(alice, "tina has joined the chat!")
        self.store.wait_until(lambda: self.store.count("c") == 1, "only the plaintext member stored")
        self.store.kill(signal.SIGUSR1)
        self.assertEqual(self.store.wait_exit(), HANDED_TO_STORE)
        self.assertEqual(secure.recv(), "Server is restarting; TLS connections cannot be handed over, so reconnect in a moment.")
        self.assertClosed(secure)
        mark = self.respawn()
        self.store.wait_for_log(r"took over 1 connection\(s\)", after=mark)
        self.expect(alice, "[CLIENT DISCONNECT - tina]")
        alice.send("still here")
        self.expect(alice, "alice: still here")


class NoStoreTests(StoreTestCase):
    """A unit without the store (FileDescriptorStoreMax=0): a restart job's SIGUSR1 must not
    be answered with an exec in place (systemd would kill it at the stop timeout), so the
    daemon shuts down as on SIGTERM, telling its members."""

    def setUp(self):
        self.store = StoreDouble(capacity=0)
        self.addCleanup(self.store.close)
        self.store.spawn()
        self.store.wait_ready()

    def test_sigusr1_without_a_store_is_a_clean_shutdown(self):
        alice = self.join("alice", "127.0.0.2")
        self.store.kill(signal.SIGUSR1)
        self.assertEqual(alice.recv(), "Server is shutting down.")
        self.assertClosed(alice)
        self.assertEqual(self.store.wait_exit(), 0)
        self.assertEqual(self.store.names(), [], "nothing was stored")


class CrashTests(StoreTestCase):

    def test_kill_9_loses_no_member_and_says_what_happened(self):
        admin = self.admin()
        alice = self.join("alice", "127.0.0.2", [admin])
        bob = self.join("bob", "127.0.0.3", [admin, alice])
        bob.send("/nick robert")
        for client in (admin, alice, bob):
            self.expect(client, "bob is now known as robert.")
        self.store.wait_until(lambda: self.store.count("c") == 3, "three connections stored")
        self.store.kill(signal.SIGKILL)
        self.assertEqual(self.store.wait_exit(), -signal.SIGKILL)
        mark = self.respawn()
        self.store.wait_for_log(r"restored 3 connection\(s\) from the crash journal", after=mark)
        for client in (admin, alice, bob):
            self.expect(client, RESTORED_AFTER_FAILURE)
        alice.send("/who")
        self.expect(alice, "3 members: admin [admin], alice, robert")
        intruder = self.connect("127.0.0.5")
        intruder.join("alice")
        self.assertEqual(intruder.recv(), "The nickname alice is already in use. Choose another one.")
        bob.send("hello after the crash")
        for client in (admin, alice, bob):
            self.expect(client, "robert: hello after the crash")
        admin.send("/kick alice")
        self.expect(alice, "You have been kicked by an admin.")

    def test_a_connection_the_journal_never_recorded_is_told_why(self):
        alice = self.join("alice", "127.0.0.2")
        ours, theirs = socket.socketpair()
        self.addCleanup(ours.close)
        self.addCleanup(theirs.close)
        self.store.kill(signal.SIGKILL)
        self.store.wait_exit()
        self.store.put("c", theirs.fileno())
        theirs.close()
        mark = self.respawn()
        self.store.wait_for_log(r"restored 1 connection\(s\)", after=mark)
        self.expect(alice, RESTORED_AFTER_FAILURE)
        stranger = OriginalClient(ours, DEFAULT_TIMEOUT)
        self.assertEqual(stranger.recv(), "The server restarted and could not keep your session "
                                          "(the previous process ended before it recorded your connection); connect again.")
        self.assertClosed(stranger)


class RefusalTests(StoreTestCase):

    def test_a_newer_state_format_is_refused_with_a_notice_not_misread(self):
        alice = self.join("alice", "127.0.0.2")
        self.store.kill(signal.SIGUSR1)
        self.assertEqual(self.store.wait_exit(), HANDED_TO_STORE)
        future = os.memfd_create("future-state")
        self.addCleanup(os.close, future)
        os.write(future, b"CRDSTATE" + (99).to_bytes(4, "little") + b"\0" * 64)
        self.store.replace("handover", future)
        mark = self.respawn()
        self.store.wait_for_log(r"could not take over the previous process's connections: the handover state has format 99",
                                after=mark)
        self.expect(alice, "The server restarted and could not keep your session "
                           "(this is an older version of the server); connect again.")
        self.assertClosed(alice)
        self.store.wait_ready()
        carol = self.join("carol", "127.0.0.4")
        carol.send("the older version serves on")
        self.expect(carol, "carol: the older version serves on")

    def test_a_stored_descriptor_nobody_knows_is_closed(self):
        ours, theirs = socket.socketpair()
        self.addCleanup(ours.close)
        self.store.put("from-a-future-version", theirs.fileno())
        theirs.close()
        self.store.kill(signal.SIGUSR1)
        self.assertEqual(self.store.wait_exit(), HANDED_TO_STORE)
        mark = self.respawn()
        self.store.wait_for_log(r"does not recognise: from-a-future-version", after=mark)
        ours.settimeout(DEFAULT_TIMEOUT)
        self.assertEqual(ours.recv(1), b"", "closed: its last duplicate was the daemon's")

    def test_a_member_who_leaves_is_dropped_from_the_store(self):
        alice = self.join("alice", "127.0.0.2")
        bob = self.join("bob", "127.0.0.3", [alice])
        self.store.wait_until(lambda: self.store.count("c") == 2, "both stored")
        bob.disconnect()
        self.expect(alice, "[CLIENT DISCONNECT - bob]")
        self.store.wait_until(lambda: self.store.count("c") == 1, "bob's socket dropped by the store on POLLHUP")


if __name__ == "__main__":
    unittest.main()
