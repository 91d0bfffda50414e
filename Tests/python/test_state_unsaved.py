"""Honest persistence: when the state directory cannot be written, a ban still holds, but
whoever set it is told that a restart would undo it (a frame to the admin, a non-zero exit
for chatroomctl), `chatroomctl stats` shows it, and the save is retried until it works.

The failure is made by putting a directory where the daemon writes its temporary file
(`sanctions.json.tmp`): root ignores permission bits, not that. Nothing sleeps: waits are
blocking reads and log lines with deadlines.
"""

import json
import os
import shutil
import tempfile

from chat_test_support import ChatAssertions
from chatroomd_fixture import DaemonTestCase
from test_chatroomctl import run_chatroomctl

NOT_SAVED = r"^Warning: this change holds now but could not be saved, so a restart would undo it \(.*\); the server keeps retrying\.$"


class UnsavedStateTests(ChatAssertions, DaemonTestCase):

    def setUp(self):
        self.state = tempfile.mkdtemp(prefix="chatroomd-unsaved-")
        self.addCleanup(shutil.rmtree, self.state, ignore_errors=True)
        self.socket_path = os.path.join(self.state, "control")
        self.daemon_args = ("--state-directory", self.state, "--control-socket", self.socket_path)
        super().setUp()
        self.daemon.wait_for_log(r"chat_event=control-listen")
        self.blocker = os.path.join(self.state, "sanctions.json.tmp")

    def stats(self):
        result = run_chatroomctl("--socket", self.socket_path, "--json", "stats")
        self.assertEqual(result.returncode, 0, result.stderr)
        return json.loads(result.stdout)

    def test_a_ban_that_cannot_be_saved_is_reported_and_saved_once_the_directory_works(self):
        admin = self.join_admin(source="127.0.0.1")
        bob = self.join("bob", source="127.0.0.2")
        self.expect(admin, "bob has joined the chat!")
        os.mkdir(self.blocker)

        admin.send("/ban bob 1h")
        # The save comes before the confirmation, so the warning does too.
        self.expect_match(admin, NOT_SAVED)
        self.expect(bob, "You have been banned by an admin for 1h.")
        self.expect(admin, "bob has been banned from the server for 1h.")
        self.daemon.wait_for_log(r"chat_event=state-save-failed")
        self.assertEqual(self.stats()["state_unsaved"], 1)

        result = run_chatroomctl("--socket", self.socket_path, "ban", "203.0.113.0/24", "1h")
        self.assertEqual(result.returncode, 1, f"stdout {result.stdout!r} stderr {result.stderr!r}")
        self.assertIn("Banned 203.0.113.0/24 for 1h.", result.stderr)
        self.assertRegex(result.stderr.splitlines()[-1], NOT_SAVED)

        os.rmdir(self.blocker)
        self.daemon.wait_for_log(r"chat_event=state-saved", timeout=15)
        self.assertEqual(self.stats()["state_unsaved"], 0)
        with open(os.path.join(self.state, "sanctions.json")) as file:
            ranges = sorted(entry["range"] for entry in json.load(file)["sanctions"])
        self.assertEqual(ranges, ["127.0.0.2/32", "203.0.113.0/24"])
