"""The real `chatroom` client in a real terminal (a tmux pane), against the real daemon.

tmux runs on a private socket (`tmux -L <unique>`, no config file) that is killed in
the cleanup. The pane runs `chatroom ...; echo EXIT=$?; ...; sleep 60`, so the exit
status and the terminal mode left behind can be read from the screen after the client
ends; the sleep only keeps the pane alive, the test never sleeps to wait for anything.
Every wait polls `capture-pane` (or a socket read) against a deadline.

The pipe and refused-connection tests run `chatroom` without a terminal.
"""

import os
import shlex
import shutil
import socket
import subprocess
import time
import unittest
import uuid

from chatroomd_fixture import ADMIN_PASSWORD, DaemonTestCase, chatroom_binary

SCREEN_DEADLINE = 10.0
POLL_INTERVAL = 0.02  # between two capture-pane polls; never used as synchronization
COLUMNS, ROWS = 100, 30
PROMPT = "> "


class TmuxPane:
    """One detached tmux session on a private server, running one shell command."""

    def __init__(self, test, command):
        self.test = test
        tmux = shutil.which("tmux")
        if tmux is None:
            test.fail("tmux is not installed, so the terminal tests cannot run: "
                      "install it (apt-get install tmux, or `make deps`)")
        self.socket_name = f"chatroomd-test-{os.getpid()}-{uuid.uuid4().hex[:12]}"
        self.base = [tmux, "-L", self.socket_name, "-f", "/dev/null"]
        self.env = dict(os.environ)
        self.env.setdefault("TERM", "xterm-256color")
        self.env.pop("TMUX", None)
        self.target = "chat"
        self.socket_path = None
        test.addCleanup(self.kill_server)
        self.run("new-session", "-d", "-s", self.target, "-x", str(COLUMNS), "-y", str(ROWS), command)
        self.socket_path = self.run("display-message", "-p", "#{socket_path}").strip()

    def run(self, *args):
        result = subprocess.run(self.base + list(args), env=self.env, stdin=subprocess.DEVNULL,
                                capture_output=True, text=True, timeout=10)
        if result.returncode != 0:
            self.test.fail(f"tmux {' '.join(args)} failed ({result.returncode}): {result.stderr.strip()}")
        return result.stdout

    def kill_server(self):
        """Ends the private tmux server (and the pane's processes) and removes its socket."""
        subprocess.run(self.base + ["kill-server"], env=self.env, stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=10)
        if self.socket_path and os.path.basename(self.socket_path) == self.socket_name:
            try:
                os.unlink(self.socket_path)
            except FileNotFoundError:
                pass

    def type(self, text):
        """Types `text` literally (no Enter)."""
        self.run("send-keys", "-t", self.target, "-l", text)

    def press(self, key):
        self.run("send-keys", "-t", self.target, key)

    def lines(self):
        """The visible screen, one string per row, trailing blanks removed."""
        return [line.rstrip() for line in self.run("capture-pane", "-p", "-t", self.target).split("\n")]

    def text_lines(self):
        """The screen's rows down to the last non-empty one."""
        lines = self.lines()
        while lines and not lines[-1]:
            lines.pop()
        return lines

    def cursor(self):
        x, y = self.run("display-message", "-p", "-t", self.target, "#{cursor_x} #{cursor_y}").split()
        return int(x), int(y)

    def wait_for(self, predicate, description, timeout=SCREEN_DEADLINE):
        """Polls the screen until `predicate(text_lines)` holds; returns those lines."""
        deadline = time.monotonic() + timeout
        while True:
            lines = self.text_lines()
            if predicate(lines):
                return lines
            if time.monotonic() >= deadline:
                self.test.fail(f"the screen did not show {description} within {timeout} s; screen:\n"
                               + "\n".join(lines))
            time.sleep(POLL_INTERVAL)

    def wait_for_line(self, line, timeout=SCREEN_DEADLINE):
        return self.wait_for(lambda lines: line in lines, repr(line), timeout)


def client_command(port, nick, options="--no-timestamps"):
    """The pane's command: the client, then its exit status and the terminal's mode.
    Timestamps are off unless asked for, so screens can be compared line for line."""
    nick_option = f"--nick {shlex.quote(nick)} " if nick is not None else ""
    return (f"{shlex.quote(chatroom_binary())} --port {port} {nick_option}{options}; "
            "echo EXIT=$?; "
            "echo TTY=$(stty -a | grep -o -w -e '-\\?icanon' -e '-\\?echo' | tr '\\n' ,); "
            "sleep 60")


class TerminalClientTests(DaemonTestCase):

    def start_alice(self):
        pane = TmuxPane(self, client_command(self.port, "alice"))
        pane.wait_for_line("alice has joined the chat!")
        return pane

    def test_incoming_messages_do_not_garble_the_line_being_typed(self):
        pane = self.start_alice()
        pane.type("half typed")
        pane.wait_for(lambda lines: lines[-1:] == [PROMPT + "half typed"], "the partial line")

        bob = self.join("bob")
        messages = [f"message {i} from bob, arriving while alice types" for i in range(6)]
        for message in messages:
            bob.send(message)
        for message in messages:
            self.assertEqual(bob.recv(), f"bob: {message}")
        last = f"bob: {messages[-1]}"
        lines = pane.wait_for(lambda lines: last in lines, repr(last))

        self.assertEqual(lines, ["Connected to the server",
                                 "alice has joined the chat!",
                                 "bob has joined the chat!"]
                         + [f"bob: {message}" for message in messages]
                         + [PROMPT + "half typed"],
                         "each message on its own line, the typed line intact below them")
        self.assertEqual(pane.cursor(), (len(PROMPT + "half typed"), len(lines) - 1),
                         "the cursor is not at the end of the typed line")

        pane.type(" done")
        pane.press("Enter")
        self.assertEqual(bob.recv(), "alice: half typed done")
        lines = pane.wait_for(lambda lines: "alice: half typed done" in lines, "alice's own message")
        self.assertEqual(lines[-2:], ["alice: half typed done", PROMPT.rstrip()])
        self.assertEqual(pane.cursor(), (len(PROMPT), len(lines) - 1))

    def test_escape_sequences_from_others_cannot_drive_the_terminal(self):
        pane = self.start_alice()
        pane.type("abc")
        bob = self.join("bob")
        hostile = "\x1b[2J\x1b[1;1Hpwned\rX\x1b]0;title\x07\x9bend"
        bob.send(hostile)
        self.assertEqual(bob.recv(), f"bob: {hostile}")
        bob.send("after")
        self.assertEqual(bob.recv(), "bob: after")
        lines = pane.wait_for(lambda lines: "bob: after" in lines, "bob's second message")
        shown = "bob: " + "".join("\ufffd" if ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 else c for c in hostile)
        self.assertEqual(lines, ["Connected to the server", "alice has joined the chat!", "bob has joined the chat!",
                                 shown, "bob: after", PROMPT + "abc"])

    def test_utf8_and_backspace_while_typing(self):
        pane = self.start_alice()
        bob = self.join("bob")
        pane.type("héllo ☕ wrold")
        for _ in range(5):
            pane.press("BSpace")
        pane.type("world")
        pane.wait_for(lambda lines: lines[-1:] == [PROMPT + "héllo ☕ world"], "the edited line")
        bob.send("ping")
        self.assertEqual(bob.recv(), "bob: ping")
        pane.wait_for(lambda lines: lines[-2:] == ["bob: ping", PROMPT + "héllo ☕ world"],
                      "bob's message above the intact edited line")
        pane.press("Enter")
        self.assertEqual(bob.recv(), "alice: héllo ☕ world")

    def test_quit_command_leaves_and_exits_zero(self):
        self._leave_test([("type", "/quit"), ("press", "Enter")])

    def test_ctrl_d_on_an_empty_line_leaves_and_exits_zero(self):
        self._leave_test([("press", "C-d")])

    def test_ctrl_c_leaves_and_exits_zero(self):
        self._leave_test([("type", "not sent"), ("press", "C-c")])

    def _leave_test(self, keys):
        bob = self.join("bob")
        pane = self.start_alice()
        self.assertEqual(bob.recv(), "alice has joined the chat!")

        for action, argument in keys:
            getattr(pane, action)(argument)
        lines = pane.wait_for(lambda lines: any(line.startswith("TTY=") for line in lines), "the exit status")
        self.assertIn("EXIT=0", lines)
        self.assertIn("TTY=icanon,echo,", lines, "the terminal was not restored to canonical mode with echo")
        self.assertEqual(lines[-2:], ["EXIT=0", "TTY=icanon,echo,"], "the prompt was left behind on the screen")
        self.assertEqual(bob.recv(), "[CLIENT DISCONNECT - alice]", "not a clean leave (or something was sent)")

    def test_admin_logs_in_without_echo_and_kicks(self):
        bob = self.join("bob")
        pane = TmuxPane(self, client_command(self.port, "admin"))
        pane.wait_for(lambda lines: lines[-1:] == ["Password for admin:"], "the password prompt")
        pane.type(ADMIN_PASSWORD)
        pane.press("Enter")
        self.assertEqual(bob.recv(), "An admin has joined the chat!")
        lines = pane.wait_for_line("An admin has joined the chat!")
        self.assertNotIn(ADMIN_PASSWORD, "\n".join(lines), "the password was echoed")

        pane.type("/kick bob")
        pane.press("Enter")
        self.assertEqual(bob.recv(), "You have been kicked by an admin.")
        self.assertIsNone(bob.recv())
        lines = pane.wait_for_line("bob has been kicked from the server.")
        self.assertEqual(lines[-2:], ["bob has been kicked from the server.", PROMPT.rstrip()])

    def test_server_shutdown_ends_the_client_with_status_one(self):
        # Without --no-reconnect the client would wait for the server to come back
        # (test_client_reconnect.py).
        pane = TmuxPane(self, client_command(self.port, "alice", "--no-timestamps --no-reconnect"))
        pane.wait_for_line("alice has joined the chat!")
        pane.type("unsent")
        self.daemon.send_signal()
        lines = pane.wait_for(lambda lines: any(line.startswith("TTY=") for line in lines), "the exit status")
        self.assertIn("Server is shutting down.", lines)
        self.assertIn("chatroom: disconnected by the server", lines)
        self.assertIn("EXIT=1", lines)
        self.assertIn("TTY=icanon,echo,", lines, "the terminal was not restored to canonical mode with echo")
        self.assertEqual(self.daemon.wait(), 0)


class PipedClientTests(DaemonTestCase):

    def test_piped_line_is_sent_echoed_and_exits_zero(self):
        observer = self.join("observer")
        command = f"printf 'hi\\n' | {shlex.quote(chatroom_binary())} --nick bot --port {self.port}"
        result = subprocess.run(["sh", "-c", command], stdin=subprocess.DEVNULL, capture_output=True,
                                text=True, timeout=20)
        self.assertEqual(result.returncode, 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}")
        self.assertIn("bot: hi", result.stdout.splitlines())
        self.assertNotIn("\x1b", result.stdout, "terminal escapes written to a pipe")
        self.assertEqual(result.stderr, "")
        self.assertEqual(observer.recv_n(3), ["bot has joined the chat!", "bot: hi", "[CLIENT DISCONNECT - bot]"])


    def run_pipe(self, input_text, nick):
        command = (f"printf %s {shlex.quote(input_text)} | "
                   f"{shlex.quote(chatroom_binary())} --nick {shlex.quote(nick)} --port {self.port}")
        return subprocess.run(["sh", "-c", command], stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=20)

    def test_piped_quit_waits_for_the_messages_before_it(self):
        observer = self.join("observer")
        result = self.run_pipe("a\nb\n/quit\nnever sent\n", "bot2")
        self.assertEqual(result.returncode, 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}")
        self.assertIn("bot2: a", result.stdout.splitlines())
        self.assertIn("bot2: b", result.stdout.splitlines())
        self.assertEqual(observer.recv_n(4), ["bot2 has joined the chat!", "bot2: a", "bot2: b", "[CLIENT DISCONNECT - bot2]"])

    def test_piped_join_refused_exits_64_with_the_reason(self):
        observer = self.join("observer")
        result = self.run_pipe("hi\n", "observer")
        self.assertEqual(result.returncode, 64, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}")
        self.assertEqual(result.stdout, "The nickname observer is already in use. Choose another one.\n")
        self.assertEqual(result.stderr, "chatroom: the server refused the nickname observer\n")
        self.barrier_from(observer)

    def test_piped_quit_after_a_refused_join_still_exits_64(self):
        """In a pipe, /quit ends the input like end-of-file does: the join's answer is
        still awaited, so a refused join followed by /quit is reported and exits 64."""
        observer = self.join("observer")
        result = self.run_pipe("hi\n/quit\n", "observer")
        self.barrier_from(observer)
        self.assertEqual(result.returncode, 64, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}")
        self.assertIn("already in use", result.stdout)

    def barrier_from(self, observer):
        """Nothing else reached the room: the observer's own message is its next frame."""
        observer.send("barrier")
        self.assertEqual(observer.recv(), "observer: barrier")


class RefusedConnectionTests(unittest.TestCase):

    def test_closed_port_prints_one_line_and_exits_69(self):
        # A port that is bound but not listening refuses connections, and stays ours
        # (so nothing else can start listening on it) for the whole test.
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as closed:
            closed.bind(("127.0.0.1", 0))
            port = closed.getsockname()[1]
            result = subprocess.run([chatroom_binary(), "--port", str(port), "--nick", "nobody"],
                                    stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=20)
        self.assertEqual(result.returncode, 69, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}")
        self.assertEqual(result.stdout, "")
        error_lines = result.stderr.splitlines()
        self.assertEqual(len(error_lines), 1, f"expected one line on stderr, got:\n{result.stderr}")
        self.assertTrue(result.stderr.endswith("\n"))
        self.assertIn(f"127.0.0.1:{port}", error_lines[0])
        self.assertIn("refused", error_lines[0].lower())


if __name__ == "__main__":
    unittest.main()
