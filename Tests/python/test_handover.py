"""A planned restart drops no one (`chatroomctl restart`, SIGUSR2, outside systemd): the
daemon becomes the program at its own path, in place (same PID), with every connection
and the room's state. Members chat on through it: nothing lost, duplicated or reordered in
either direction, a frame half sent before is completed after, and nicks, admin logins and
mutes hold. If the new program fails its trial run, the old one carries on.

Nothing sleeps: waits are blocking reads, process exits and log lines with deadlines.
"""

import os
import re
import shutil
import signal
import stat
import subprocess
import tempfile
import threading
import unittest

from chat_test_support import ChatAssertions
from chatroomd_fixture import ADMIN_PASSWORD, Daemon, chatroomd_binary
from test_chatroomctl import run_chatroomctl

LINES_PER_MEMBER = 60
DEADLINE = 20.0


class HandoverTestCase(ChatAssertions, unittest.TestCase):

    def start(self, binary=None):
        self.directory = tempfile.mkdtemp(prefix="chatroomd-handover-")
        self.addCleanup(shutil.rmtree, self.directory, ignore_errors=True)
        self.socket_path = os.path.join(self.directory, "control")
        self.daemon = Daemon(["--state-directory", self.directory, "--control-socket", self.socket_path],
                             binary=binary)
        self.daemon.start()
        self.addCleanup(self.daemon.kill)
        self.daemon.wait_for_log(r"chat_event=control-listen")

    def connect(self, source):
        return self.connect_to(self.daemon.port, source)

    def join(self, nick, source, observers=()):
        return self.join_to(self.daemon.port, nick, source, observers)

    def handed_over(self, mark):
        """Waits until the new program has taken over (logged after stderr line `mark`), in
        the same process."""
        self.daemon.wait_for_log(r"chat_event=handover-restored", timeout=DEADLINE, after=mark)
        self.assertIsNone(self.daemon.process.poll(), "the same process carries on")


class PlannedRestartTests(HandoverTestCase):

    def test_members_chat_through_a_restart_and_lose_nothing(self):
        self.start()
        admin = self.connect("127.0.0.1")
        admin.login_admin(ADMIN_PASSWORD)
        self.assertEqual(admin.recv_n(2), ["Connected to the server", "An admin has joined the chat!"])
        alice = self.join("alice", "127.0.0.2", [admin])
        bob = self.join("bob", "127.0.0.3", [admin, alice])
        carol = self.join("carol", "127.0.0.4", [admin, alice, bob])
        admin.send("/mute carol 1h")
        self.expect(carol, "You have been muted by an admin for 1h.")
        for client in (admin, alice, bob):
            self.expect(client, "carol has been muted for 1h.")

        # alice starts a frame before the restart and finishes it after.
        half = b"said across the restart"
        alice.sock.sendall(b"%-64d" % len(half) + half[:7])

        # bob talks all the while, from another thread.
        sent = [f"line {i}" for i in range(LINES_PER_MEMBER)]
        errors = []

        def talk():
            try:
                for text in sent:
                    bob.send(text)
            except Exception as error:  # reported below
                errors.append(error)

        talker = threading.Thread(target=talk)
        mark = len(self.daemon.stderr_lines)
        talker.start()
        result = run_chatroomctl("--socket", self.socket_path, "restart")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertRegex(result.stdout, r"^Restarted: 4 connection\(s\) handed to chatroomd \S+\.")
        self.handed_over(mark)
        talker.join(timeout=DEADLINE)
        self.assertEqual(errors, [])
        alice.sock.sendall(half[7:])

        expected = [f"bob: {text}" for text in sent]
        for client in (admin, alice, bob):
            lines = client.recv_until(lambda text: text == "alice: said across the restart")
            self.assertEqual([line for line in lines if line.startswith("bob: ")], expected,
                             "every line once, in order, through the restart")
        carol_lines = carol.recv_until(lambda text: text == "alice: said across the restart")
        self.assertEqual([line for line in carol_lines if line.startswith("bob: ")], expected)

        # Nicks, the admin login and the mute came across.
        carol.send("still muted?")
        self.expect_match(carol, r"^You are muted for (1h|59m \d+s)\.$")
        admin.send("/kick bob enough")
        self.expect(bob, "You have been kicked by an admin. Reason: enough")
        for client in (admin, alice, carol):
            self.expect(client, "bob has been kicked from the server. Reason: enough")
        alice.send("/who")
        self.expect(alice, "3 members: admin [admin], alice, carol [muted]")
        dave = self.join("dave", "127.0.0.5", [admin, alice, carol])
        dave.send("hello new process")
        for client in (admin, alice, carol, dave):
            self.expect(client, "dave: hello new process")

    def test_sigusr2_restarts_too(self):
        self.start()
        alice = self.join("alice", "127.0.0.2")
        mark = len(self.daemon.stderr_lines)
        os.kill(self.daemon.process.pid, signal.SIGUSR2)
        self.handed_over(mark)
        alice.send("after")
        self.expect(alice, "alice: after")


class FailedRestartTests(HandoverTestCase):

    def copy_of_the_daemon(self):
        """A copy of chatroomd whose file the test may break."""
        directory = tempfile.mkdtemp(prefix="chatroomd-binary-")
        self.addCleanup(shutil.rmtree, directory, ignore_errors=True)
        path = os.path.join(directory, "chatroomd")
        shutil.copy2(chatroomd_binary(), path)
        return path

    def assert_still_serving(self, alice):
        alice.send("still here")
        self.expect(alice, "alice: still here")
        self.assertIsNone(self.daemon.process.poll(), "the old program carries on")

    def test_a_new_binary_that_exits_leaves_the_old_process_serving(self):
        binary = self.copy_of_the_daemon()
        self.start(binary=binary)
        alice = self.join("alice", "127.0.0.2")
        # Replaced the way an upgrade replaces it: a new file renamed over the old one.
        replacement = binary + ".new"
        with open(replacement, "w") as file:
            file.write("#!/bin/sh\nexit 3\n")
        os.chmod(replacement, stat.S_IRWXU)
        os.replace(replacement, binary)
        result = run_chatroomctl("--socket", self.socket_path, "restart")
        self.assertEqual(result.returncode, 1, result.stdout)
        self.assertIn("restart failed, still serving: the new program failed its trial run (check-config exited 3)", result.stderr)
        self.daemon.wait_for_log(r"chat_event=handover-failed")
        self.assert_still_serving(alice)

    def test_a_binary_that_cannot_be_run_leaves_the_old_process_serving(self):
        binary = self.copy_of_the_daemon()
        self.start(binary=binary)
        alice = self.join("alice", "127.0.0.2")
        os.chmod(binary, 0o644)
        result = run_chatroomctl("--socket", self.socket_path, "restart")
        self.assertEqual(result.returncode, 1, result.stdout)
        self.assertIn("restart failed, still serving: the new program failed its trial run (check-config exited 127)", result.stderr)
        self.assert_still_serving(alice)


class DowngradeTests(unittest.TestCase):
    """A program that cannot read the state a running daemon would hand it (an older one,
    after a downgrade) fails the trial run, so nothing is handed over and members stay."""

    def trial(self, version):
        env = dict(os.environ, CHATROOMD_HANDOVER_VERSION=str(version))
        return subprocess.run([chatroomd_binary(), "check-config", "--listen", "127.0.0.1:0"], env=env,
                              capture_output=True, text=True, timeout=DEADLINE)

    def test_a_newer_state_format_fails_the_trial_run(self):
        result = self.trial(99)
        self.assertEqual(result.returncode, 78, result.stderr)
        self.assertRegex(result.stderr, r"state has format 99; this chatroomd \S+ reads up to \d+ \(a downgrade\?\)")

    def test_the_current_format_passes(self):
        self.assertEqual(self.trial(1).returncode, 0)


if __name__ == "__main__":
    unittest.main()
