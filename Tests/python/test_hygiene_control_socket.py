"""One daemon per control socket (issue 10, finding 9): a second chatroomd started on a
control socket that a live daemon answers exits 78 with one line naming the path, and
leaves the first daemon's socket alone; a stale socket file (nothing listening) is
replaced; a daemon removes the socket file at stop only if it is still its own.

Nothing sleeps: daemons are waited on through their stderr and exit, with deadlines.
"""

import os
import socket
import tempfile
import unittest

from chatroomd_fixture import Daemon
from test_chatroomctl import run_chatroomctl

CONFIG_ERROR = 78


class ControlSocketOwnershipTests(unittest.TestCase):
    def setUp(self):
        super().setUp()
        directory = tempfile.TemporaryDirectory()
        self.addCleanup(directory.cleanup)
        self.path = os.path.join(directory.name, "control")

    def start(self):
        daemon = Daemon(["--control-socket", self.path])
        self.addCleanup(daemon.kill)
        daemon.start()
        return daemon

    def start_serving(self):
        daemon = self.start()
        # "listening on" (which start() waits for) comes before the control socket opens.
        daemon.wait_for_log(r"chat_event=control-listen")
        return daemon

    def assertReaches(self, daemon):
        """chatroomctl at the path talks to `daemon`: its log records the request."""
        before = len(daemon.stderr_lines)
        result = run_chatroomctl("--socket", self.path, "say", "hello")
        self.assertEqual(result.returncode, 0, f"chatroomctl failed: {result.stderr}")
        daemon.wait_for_log(r"chat_event=say", after=before)

    def stop(self, daemon):
        self.assertEqual(daemon.stop(), 0, daemon.stderr)

    def test_second_daemon_on_a_live_control_socket_exits_78_and_leaves_it_alone(self):
        first = self.start_serving()
        inode = os.lstat(self.path).st_ino

        second = self.start()
        self.assertEqual(second.wait(), CONFIG_ERROR, second.stderr)
        in_use = [line for line in second.stderr_lines if "is in use" in line]
        self.assertEqual(len(in_use), 1, second.stderr)
        self.assertIn(f"control socket {self.path} is in use", in_use[0])

        self.assertEqual(os.lstat(self.path).st_ino, inode, "the first daemon's socket file was replaced")
        self.assertReaches(first)
        self.stop(first)
        self.assertFalse(os.path.exists(self.path), "the first daemon left its socket file behind")

    def test_stale_socket_file_is_replaced(self):
        stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        stale.bind(self.path)  # bound, never listening, then closed: what a crash leaves
        stale.close()
        self.assertTrue(os.path.exists(self.path))

        daemon = self.start_serving()
        self.assertReaches(daemon)
        self.stop(daemon)

    def test_daemon_does_not_remove_a_socket_file_that_is_no_longer_its_own(self):
        first = self.start_serving()
        os.unlink(self.path)  # an operator removed it; a new daemon takes the path
        second = self.start_serving()
        inode = os.lstat(self.path).st_ino

        self.stop(first)
        self.assertTrue(os.path.exists(self.path), "the first daemon removed the second's socket at stop")
        self.assertEqual(os.lstat(self.path).st_ino, inode)
        self.assertReaches(second)
        self.stop(second)

    def test_a_file_that_is_not_a_socket_is_never_removed(self):
        with open(self.path, "w") as file:
            file.write("not a socket\n")
        daemon = self.start()
        status = daemon.wait()
        self.assertNotEqual(status, 0, daemon.stderr)
        self.assertTrue(any("is not a socket" in line for line in daemon.stderr_lines), daemon.stderr)
        with open(self.path) as file:
            self.assertEqual(file.read(), "not a socket\n")


if __name__ == "__main__":
    unittest.main()
