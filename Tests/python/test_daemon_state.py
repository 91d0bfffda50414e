"""The state directory (--state-directory): bans and mutes survive a restart and a
`kill -9`, and an unreadable file at start is set aside, reported, and never overwritten.

Each test starts its own daemons (one after another) on one temporary state directory.
Nothing sleeps: waits are blocking reads or log lines with deadlines.
"""

import glob
import json
import os
import re
import signal
import time
import unittest

from chat_test_support import ChatAssertions, run_chatroomd
from chatroomd_fixture import ADMIN_PASSWORD, Daemon
from original_client import DEFAULT_TIMEOUT, OriginalClient

SANCTIONS = "sanctions.json"


class StateTestCase(ChatAssertions, unittest.TestCase):
    def setUp(self):
        super().setUp()
        self.state = self.temporary_directory()

    def path(self, name):
        return os.path.join(self.state, name)

    def start(self, *extra_args, seed_behaviour=None):
        daemon = Daemon(["--state-directory", self.state, *extra_args], seed_behaviour=seed_behaviour)
        self.addCleanup(daemon.kill)
        daemon.start()
        return daemon

    def stop(self, daemon):
        status = daemon.stop()
        self.assertEqual(status, 0, f"chatroomd exited with {status}; stderr:\n{daemon.stderr}")

    def connect(self, daemon, source=None):
        client = OriginalClient.connect(daemon.port, source=source, timeout=DEFAULT_TIMEOUT)
        self.addCleanup(client.close)
        return client

    def join(self, daemon, nick, source):
        client = self.connect(daemon, source)
        client.join(nick)
        self.assertEqual(client.recv_n(2), ["Connected to the server", f"{nick} has joined the chat!"])
        return client

    def join_admin(self, daemon):
        client = self.connect(daemon, "127.0.0.1")
        client.login_admin(ADMIN_PASSWORD)
        self.assertEqual(client.recv_n(2), ["Connected to the server", "An admin has joined the chat!"])
        return client

    def assertRefusedAsBanned(self, daemon, source):
        client = self.connect(daemon, source)
        self.expect(client, "You are banned from this server.")
        self.assertClosed(client)

    def sanctions_file(self):
        with open(self.path(SANCTIONS), encoding="utf-8") as file:
            return json.load(file)

    def write_sanctions(self, records):
        with open(self.path(SANCTIONS), "w", encoding="utf-8") as file:
            json.dump({"version": 1, "sanctions": records}, file)


class PersistenceTests(StateTestCase):

    def test_a_timed_ban_and_a_mute_survive_a_restart(self):
        first = self.start()
        admin = self.join_admin(first)
        bob = self.join(first, "bob", "127.0.0.2")
        carol = self.join(first, "carol", "127.0.0.3")
        admin.send("/ban bob 1h flooding")
        bob.recv_until("You have been banned by an admin for 1h. Reason: flooding")
        admin.recv_until("bob has been banned from the server for 1h. Reason: flooding")
        admin.send("/mute carol 1h")
        carol.recv_until("You have been muted by an admin for 1h.")
        admin.recv_until("carol has been muted for 1h.")
        saved = {record["kind"]: record for record in self.sanctions_file()["sanctions"]}
        self.assertEqual(set(saved), {"ban", "mute"})
        self.assertEqual(saved["ban"]["range"], "127.0.0.2/32")
        self.assertEqual(saved["ban"]["nick"], "bob")
        self.assertEqual(saved["ban"]["reason"], "flooding")
        self.assertEqual(saved["ban"]["expiresAt"] - saved["ban"]["setAt"], 3600)
        self.assertEqual(saved["mute"]["nick"], "carol")
        for client in (admin, bob, carol):
            client.close()
        self.stop(first)

        second = self.start()
        second.wait_for_log(r"restored 1 ban\(s\), 1 mute\(s\)")
        self.assertRefusedAsBanned(second, "127.0.0.2")
        carol = self.join(second, "carol", "127.0.0.3")
        carol.send("am I still muted?")
        self.expect_match(carol, r"You are muted for (1h|59m \d\ds|59m \ds)\.")
        admin = self.join_admin(second)
        self.expect(carol, "An admin has joined the chat!")
        admin.send("/bans")
        self.assertEqual(admin.recv(), "Bans (1):")
        self.expect_match(admin, r"  bob \(127\.0\.0\.2\) by admin, (1h|59m \d+s) left: flooding")
        self.assertEqual(admin.recv(), "Mutes (1):")
        self.expect_match(admin, r"  carol \(127\.0\.0\.3\) by admin, (1h|59m \d+s) left")

        # A later change rewrites the file; the restored expiry times are kept as they were.
        admin.send("/ban 192.0.2.1")
        self.expect(admin, "Banned 192.0.2.1.")
        rewritten = {(record["kind"], record["range"]): record for record in self.sanctions_file()["sanctions"]}
        self.assertEqual(rewritten[("ban", "127.0.0.2/32")]["expiresAt"], saved["ban"]["expiresAt"])
        self.assertEqual(rewritten[("mute", "127.0.0.3/32")]["expiresAt"], saved["mute"]["expiresAt"])
        self.assertNotIn("expiresAt", rewritten[("ban", "192.0.2.1/32")])

    def test_restored_sanctions_keep_their_remaining_time_not_their_duration(self):
        # Sanctions set 58 minutes ago for an hour, as the file of an earlier run says;
        # and one that ran out while the daemon was down.
        now = int(time.time())
        self.write_sanctions([
            {"kind": "ban", "range": "127.0.0.2/32", "nick": "bob", "setBy": "admin",
             "setAt": now - 3480, "expiresAt": now + 120},
            {"kind": "mute", "range": "127.0.0.3/32", "nick": "carol", "setBy": "admin",
             "setAt": now - 3480, "expiresAt": now + 120},
            {"kind": "ban", "range": "127.0.0.4/32", "setBy": "admin", "setAt": now - 7200, "expiresAt": now - 1},
        ])
        daemon = self.start()
        self.assertRefusedAsBanned(daemon, "127.0.0.2")
        carol = self.join(daemon, "carol", "127.0.0.3")
        carol.send("hi")
        # The first tick announces the ban that ran out while the daemon was down; it may
        # come before or after any of carol's frames.
        muted = re.compile(r"You are muted for (2m|1m \d\ds|1m \ds)\.")
        frames = carol.recv_until(lambda text: muted.fullmatch(text) is not None)
        dave = self.join(daemon, "dave", "127.0.0.4")  # the expired ban does not hold
        frames += carol.recv_until("dave has joined the chat!")
        dave.send("/who")
        self.expect(dave, "2 members: carol [muted], dave")
        if "The ban on 127.0.0.4 has expired." not in frames:
            frames += carol.recv_until("The ban on 127.0.0.4 has expired.")
        expiry = "The ban on 127.0.0.4 has expired."
        self.assertEqual(frames.count(expiry), 1, frames)
        others = [text for text in frames if text != expiry]
        self.assertEqual(len(others), 2, frames)
        self.assertRegex(others[0], muted)
        self.assertEqual(others[1], "dave has joined the chat!")

    def test_kill_9_right_after_a_ban_and_a_mute_loses_neither(self):
        first = self.start()
        admin = self.join_admin(first)
        bob = self.join(first, "bob", "127.0.0.2")
        carol = self.join(first, "carol", "127.0.0.3")
        admin.send("/ban bob")
        bob.recv_until("You have been banned by an admin.")
        admin.recv_until("bob has been banned from the server.")
        admin.send("/mute carol 10m")
        admin.recv_until("carol has been muted for 10m.")
        # The reply came after the durable write: SIGKILL now, with no chance to save.
        first.process.send_signal(signal.SIGKILL)
        self.assertEqual(first.wait(), -signal.SIGKILL)

        second = self.start()
        self.assertRefusedAsBanned(second, "127.0.0.2")
        carol = self.join(second, "carol", "127.0.0.3")
        carol.send("still muted?")
        self.expect_match(carol, r"You are muted for (10m|9m \d\ds|9m \ds)\.")
        self.assertFalse(any("state-unreadable" in line for line in second.stderr_lines), second.stderr)

    def test_a_leftover_tmp_file_is_ignored(self):
        first = self.start()
        admin = self.join_admin(first)
        admin.send("/ban 127.0.0.9")
        self.expect(admin, "Banned 127.0.0.9.")
        admin.close()
        self.stop(first)
        # A crash between writing the temporary file and renaming it over the real one.
        with open(self.path(SANCTIONS + ".tmp"), "wb") as file:
            file.write(b'{"version": 1, "sanctions": [{"kind": "ban", "ra')

        second = self.start()
        self.assertFalse(any("state-unreadable" in line for line in second.stderr_lines), second.stderr)
        self.assertRefusedAsBanned(second, "127.0.0.9")

    def test_a_legacy_bans_file_is_imported(self):
        with open(self.path("bans"), "w", encoding="utf-8") as file:
            file.write("# issue-3 format\n127.0.0.5\n10.0.0.0/8\n")
        daemon = self.start()
        self.assertRefusedAsBanned(daemon, "127.0.0.5")
        admin = self.join_admin(daemon)
        admin.send("/bans")
        self.assertEqual(admin.recv_n(3), ["Bans (2):", "  127.0.0.5 by restored, permanent",
                                           "  10.0.0.0/8 by restored, permanent"])

    def test_history_survives_a_restart(self):
        seed = ("--history-lines", "2")
        first = self.start(seed_behaviour=seed)
        alice = self.join(first, "alice", "127.0.0.2")
        for text in ("one", "two", "three"):
            alice.send(text)
            self.expect(alice, f"alice: {text}")
        alice.close()
        self.stop(first)  # history is saved at stop

        second = self.start(seed_behaviour=seed)
        second.wait_for_log(r"restored 0 ban\(s\), 0 mute\(s\) and 2 history line\(s\)")
        bob = self.connect(second, "127.0.0.3")
        bob.join("bob")
        self.expect(bob, "Connected to the server")
        for text in ("two", "three"):
            self.expect_match(bob, rf"\[history \d\d:\d\d:\d\dZ\] alice: {text}")
        self.expect(bob, "bob has joined the chat!")

    def test_a_missing_state_directory_is_a_configuration_error(self):
        missing = self.path("does-not-exist")
        result = run_chatroomd("--listen", "127.0.0.1:0", "--state-directory", missing, "--log-target", "stderr")
        self.assertEqual(result.returncode, 78, result.stderr)
        self.assertIn(f"state directory {missing} does not exist", result.stderr)


class CorruptStateTests(StateTestCase):

    def test_an_unreadable_sanctions_file_is_set_aside_and_reported_and_the_daemon_starts(self):
        garbage = b'{"version": 1, "sanctions": [{"kind": "ban", "range": "127.0.0.2/32", "setB'
        with open(self.path(SANCTIONS), "wb") as file:
            file.write(garbage)
        history_garbage = b"\x00\x01 not json"
        with open(self.path("history.json"), "wb") as file:
            file.write(history_garbage)

        daemon = self.start()
        # Logged while starting, so before the "listening" line start() waited for.
        unreadable = [line for line in daemon.stderr_lines if "chat_event=state-unreadable" in line]
        self.assertEqual(len(unreadable), 2, daemon.stderr)
        self.assertTrue(all(line.split()[1] == "error" for line in unreadable), unreadable)
        sanctions_line = next(line for line in unreadable if "sanctions.json is unreadable" in line)
        aside = glob.glob(self.path(SANCTIONS + ".corrupt-*"))
        self.assertEqual(len(aside), 1, os.listdir(self.state))
        self.assertRegex(aside[0], r"\.corrupt-\d+$")
        self.assertIn(f"kept aside as {aside[0]}", sanctions_line)
        with open(aside[0], "rb") as file:
            self.assertEqual(file.read(), garbage)
        self.assertFalse(os.path.exists(self.path(SANCTIONS)))
        history_aside = glob.glob(self.path("history.json.corrupt-*"))
        self.assertEqual(len(history_aside), 1, os.listdir(self.state))

        # The daemon runs without the lost state, and the next save does not touch the copy.
        bob = self.join(daemon, "bob", "127.0.0.2")
        admin = self.join_admin(daemon)
        self.expect(bob, "An admin has joined the chat!")
        admin.send("/ban bob")
        admin.recv_until("bob has been banned from the server.")
        self.assertEqual(self.sanctions_file()["sanctions"][0]["range"], "127.0.0.2/32")
        with open(aside[0], "rb") as file:
            self.assertEqual(file.read(), garbage)
        for client in (admin, bob):
            client.close()
        self.stop(daemon)

        again = self.start()
        self.assertFalse(any("state-unreadable" in line for line in again.stderr_lines), again.stderr)
        self.assertRefusedAsBanned(again, "127.0.0.2")
        self.assertEqual(glob.glob(self.path(SANCTIONS + ".corrupt-*")), aside)


if __name__ == "__main__":
    unittest.main()
