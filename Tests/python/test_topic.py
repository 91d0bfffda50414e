"""/topic end to end: an admin sets it with the seed's own client, every member is told,
a newcomer sees it right after "Connected to the server", chatroomctl sets and clears it,
and it survives a restart in the state directory. Nothing sleeps: every wait is a
blocking read or a log line with a deadline.
"""

import json
import os
import shutil
import tempfile

from test_chatroomctl import run_chatroomctl
from chatroomd_fixture import Daemon, DaemonTestCase
from original_client import DEFAULT_TIMEOUT, OriginalClient


class TopicTests(DaemonTestCase):

    def setUp(self):
        self.state = tempfile.mkdtemp(prefix="chatroomd-topic-")
        self.addCleanup(shutil.rmtree, self.state, ignore_errors=True)
        self.socket_path = os.path.join(self.state, "control")
        self.daemon_args = ("--state-directory", self.state, "--control-socket", self.socket_path)
        super().setUp()
        self.daemon.wait_for_log(r"chat_event=control-listen")

    def test_the_seed_client_sets_it_everyone_is_told_and_newcomers_see_it(self):
        admin = self.join_admin(source="127.0.0.1")
        alice = self.join("alice", source="127.0.0.2")
        self.assertEqual(admin.recv(), "alice has joined the chat!")

        alice.send("/topic mine")
        self.assertEqual(alice.recv(), "Only an admin can change the topic.")
        admin.send("/topic Release day: be kind")
        for client in (admin, alice):
            self.assertEqual(client.recv(), "admin set the topic: Release day: be kind")

        bob = self.connect(source="127.0.0.3")
        bob.join("bob")
        self.assertEqual(bob.recv_n(3), ["Connected to the server", "Topic: Release day: be kind",
                                         "bob has joined the chat!"])
        with open(os.path.join(self.state, "room.json")) as file:
            saved = json.load(file)
        self.assertEqual(saved["topic"]["text"], "Release day: be kind")
        self.assertEqual(saved["topic"]["setBy"], "admin")

    def test_chatroomctl_sets_shows_and_clears_it(self):
        alice = self.join("alice", source="127.0.0.2")
        result = run_chatroomctl("--socket", self.socket_path, "topic", "Maintenance", "at", "18:00")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout.strip(), "Topic set.")
        self.assertRegex(alice.recv(), r"^chatroomctl:\S+ set the topic: Maintenance at 18:00$")

        shown = run_chatroomctl("--socket", self.socket_path, "--json", "topic")
        self.assertEqual(shown.returncode, 0, shown.stderr)
        self.assertEqual(json.loads(shown.stdout), {"ok": True, "messages": ["Topic: Maintenance at 18:00"]})

        cleared = run_chatroomctl("--socket", self.socket_path, "topic", "--clear")
        self.assertEqual(cleared.returncode, 0, cleared.stderr)
        self.assertRegex(alice.recv(), r"^chatroomctl:\S+ cleared the topic\.$")
        again = run_chatroomctl("--socket", self.socket_path, "topic", "--clear")
        self.assertEqual(again.returncode, 1)
        self.assertEqual(again.stderr.strip(), "error: No topic is set.")

    def test_it_survives_a_restart(self):
        admin = self.join_admin(source="127.0.0.1")
        admin.send("/topic kept")
        self.assertEqual(admin.recv(), "admin set the topic: kept")
        admin.close()
        self.assertEqual(self.daemon.stop(), 0, self.daemon.stderr)

        second = Daemon(("--state-directory", self.state, "--control-socket", "none"))
        self.addCleanup(second.kill)
        second.start()
        second.wait_for_log(r"and the topic from")
        carol = OriginalClient.connect(second.port, source="127.0.0.4", timeout=DEFAULT_TIMEOUT)
        self.addCleanup(carol.close)
        carol.join("carol")
        self.assertEqual(carol.recv_n(3), ["Connected to the server", "Topic: kept", "carol has joined the chat!"])
        carol.close()
        self.assertEqual(second.stop(), 0, second.stderr)


class LimitsTests(DaemonTestCase):
    daemon_args = ("--history-lines", "0", "--flood-rate", "2.5", "--flood-burst", "4", "--max-frame-bytes", "1000")
    seed_behaviour = ()

    def test_limits_tells_a_member_its_line_and_rate_limits(self):
        alice = self.join("alice")
        alice.send("/limits")
        self.assertEqual(alice.recv(), "[server] Limits: lines up to 1000 bytes, 2.5 per second in bursts of 4.")
