"""`chatroom` in a pipe: every line delivered in order despite flood control, and the
exit status says whether they were: 0 delivered, 65 a line refused or undeliverable
(named on stderr), 64 a refused nickname.

The daemon runs with a low flood limit so the server refuses lines. Whether or not it
announces its limits ("[server] Limits: ..."), the client must deliver everything: with
the announcement it paces itself, without it it sends again after each refusal.
"""

import os
import socket
import subprocess
import tempfile
import unittest

from chatroomd_fixture import DaemonTestCase, chatroom_binary

PIPE_DEADLINE = 60


class PipeDeliveryTests(DaemonTestCase):
    seed_behaviour = ["--history-lines", "0", "--flood-rate", "5", "--flood-burst", "3"]

    def run_client(self, input_text, nick="bot"):
        return subprocess.run([chatroom_binary(), "--nick", nick, "--port", str(self.port)], input=input_text,
                              capture_output=True, text=True, timeout=PIPE_DEADLINE)

    def describe(self, result):
        return f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"

    def test_more_lines_than_the_flood_limit_all_arrive_in_order_and_exit_zero(self):
        observer = self.join("observer")
        lines = [f"line {i}" for i in range(1, 26)] + ["last"]
        result = self.run_client("".join(line + "\n" for line in lines))
        self.assertEqual(result.returncode, 0, self.describe(result))
        self.assertEqual(result.stderr, "")
        self.assertEqual(observer.recv(), "bot has joined the chat!")
        self.assertEqual(observer.recv_n(len(lines)), [f"bot: {line}" for line in lines])
        self.assertEqual(observer.recv(), "[CLIENT DISCONNECT - bot]")
        shown = [line for line in result.stdout.splitlines() if line.startswith("bot: ")]
        self.assertEqual(shown, [f"bot: {line}" for line in lines])
        self.assertNotIn("too fast", result.stdout, "a flood refusal was shown although the line was sent again")

    def test_a_line_longer_than_the_server_accepts_is_refused_locally_and_exits_65(self):
        observer = self.join("observer")
        long_line = "x" * 70_000
        result = self.run_client(f"before\n{long_line}\nafter\n")
        self.assertEqual(result.returncode, 65, self.describe(result))
        self.assertIn("line 2", result.stderr)
        self.assertIn("65536", result.stderr)
        self.assertEqual(len(result.stderr.splitlines()), 1, result.stderr)
        self.assertEqual(observer.recv_n(4), ["bot has joined the chat!", "bot: before", "bot: after",
                                              "[CLIENT DISCONNECT - bot]"])

    def test_a_line_the_server_will_not_relay_is_named_and_exits_65(self):
        observer = self.join("observer")
        admin = self.join_admin(source="127.0.0.2")  # an admin cannot mute its own address
        self.assertEqual(observer.recv(), "An admin has joined the chat!")
        process = subprocess.Popen([chatroom_binary(), "--nick", "bot", "--port", str(self.port)],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: process.poll() is None and process.kill())
        self.assertEqual(observer.recv(), "bot has joined the chat!")
        admin.send("/mute bot")
        self.assertEqual(observer.recv(), "bot has been muted.")
        stdout, stderr = process.communicate("first words\n", timeout=PIPE_DEADLINE)
        self.assertEqual(process.returncode, 65, f"stdout:\n{stdout}\nstderr:\n{stderr}")
        self.assertIn('line 1 "first words"', stderr)
        self.assertIn("You are muted", stderr)
        # A muted member's leaving is not announced either: the observer's next frame is
        # the admin's barrier, not the muted line.
        admin.send("barrier")
        self.assertEqual(observer.recv(), "admin: barrier", "the muted line (or its leaving) reached the room")

    def test_dc_ends_piped_input_cleanly(self):
        observer = self.join("observer")
        result = self.run_client("hello\n!DC\nnever\n")
        self.assertEqual(result.returncode, 0, self.describe(result))
        self.assertEqual(observer.recv_n(3), ["bot has joined the chat!", "bot: hello", "[CLIENT DISCONNECT - bot]"])

    def test_slashless_commands_are_sent_as_written_in_a_pipe(self):
        observer = self.join("observer")
        result = self.run_client("nick robot\n")
        self.assertEqual(result.returncode, 0, self.describe(result))
        self.assertEqual(observer.recv_n(2), ["bot has joined the chat!", "bot: nick robot"])

    def test_commands_answers_are_printed_before_leaving(self):
        result = self.run_client("/who\n")
        self.assertEqual(result.returncode, 0, self.describe(result))
        self.assertIn("1 member: bot", result.stdout.splitlines())

    def test_configuration_file_supplies_the_nick_and_port_and_flags_win(self):
        directory = tempfile.TemporaryDirectory(prefix="chatroom-config-")
        self.addCleanup(directory.cleanup)
        os.makedirs(os.path.join(directory.name, "chatroom"))
        with open(os.path.join(directory.name, "chatroom", "config"), "w") as config:
            config.write(f"# test\nport = {self.port}\nnick = fromfile\ntimestamps = yes\n")
        observer = self.join("observer")
        env = dict(os.environ, XDG_CONFIG_HOME=directory.name)
        result = subprocess.run([chatroom_binary(), "--no-timestamps"], input="hi\n", capture_output=True,
                                text=True, timeout=PIPE_DEADLINE, env=env)
        self.assertEqual(result.returncode, 0, self.describe(result))
        self.assertIn("fromfile: hi", result.stdout.splitlines(), "--no-timestamps did not win over the file")
        self.assertEqual(observer.recv_n(2), ["fromfile has joined the chat!", "fromfile: hi"])
        with open(os.path.join(directory.name, "chatroom", "config"), "a") as config:
            config.write("volume = 11\n")
        result = subprocess.run([chatroom_binary()], input="", capture_output=True, text=True,
                                timeout=PIPE_DEADLINE, env=env)
        self.assertEqual(result.returncode, 64, self.describe(result))
        self.assertIn("config:5: unknown setting", result.stderr)


class NoServerTests(unittest.TestCase):
    def test_a_port_where_nothing_listens_says_where_to_look(self):
        with socket.socket() as probe:  # a port just free: nothing listens on it
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        result = subprocess.run([chatroom_binary(), "--nick", "bot", "--host", "127.0.0.1", "--port", str(port)],
                                input="hello\n", capture_output=True, text=True, timeout=PIPE_DEADLINE)
        self.assertNotEqual(result.returncode, 0, result.stderr)
        self.assertIn(f"cannot connect to 127.0.0.1:{port}: Connection refused", result.stderr)
        self.assertIn("is chatroomd running there?", result.stderr)
