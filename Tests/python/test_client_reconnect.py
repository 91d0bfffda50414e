"""`chatroom` survives a server restart: on a terminal (a tmux pane, used as a person
would) and in a pipe. A kick or a ban does not reconnect; --no-reconnect exits.

A restart is the real thing: SIGTERM to one daemon, then a new daemon on the same port
(found free by binding port 0, then closed) with the same --state-directory, so that the
history survives and is replayed to the client when it rejoins.

To say something "while the client is away" deterministically, the terminal client
reaches the daemon through a `Gate`: a loopback TCP forwarder standing for the network.
While the gate is shut, each attempt is accepted and closed at once (a dropped attempt,
so the client counts down to the next one); the test starts the new daemon, has another
member speak, and only then opens the gate. Every wait polls a condition against a
deadline; nothing sleeps to synchronise.
"""

import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

from chatroomd_fixture import LOOPBACK, START_DEADLINE, Daemon, DaemonTestCase, chatroom_binary, chatroomd_binary
from chatroomd_fixture import ADMIN_PASSWORD_HASH
from original_client import OriginalClient
from test_terminal_tmux import PROMPT, TmuxPane, client_command

DEADLINE = 30.0
HISTORY_LINE = r"\[history \d\d:\d\d:\d\dZ\] "


def free_port():
    """A loopback port nothing listens on now (bound to 0, then closed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


class FixedPortDaemon(Daemon):
    """A daemon on a given port, so that its successor can listen where it did."""

    def __init__(self, port, state_directory, extra_args=()):
        # Flood and join limits stay out of the way; history is on (the default 50 lines).
        super().__init__(["--state-directory", state_directory] + list(extra_args),
                         seed_behaviour=["--joins-per-address-per-minute", "off",
                                         "--accepts-per-address-per-second", "off", "--presence-rate", "off"])
        self.fixed_port = port

    def start(self):
        args = [chatroomd_binary(), "--listen", f"{LOOPBACK}:{self.fixed_port}",
                "--admin-password-hash", ADMIN_PASSWORD_HASH] + self.seed_behaviour + self.extra_args
        env = dict(os.environ)
        env.pop("CHATROOMD_ADMIN_PASSWORD_HASH", None)
        self.process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE, env=env)
        self._reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._reader.start()
        try:
            self.wait_for_log(rf"listening on 127\.0\.0\.1:{self.fixed_port}\b", timeout=START_DEADLINE)
        except AssertionError:
            self.kill()
            raise
        self.port = self.fixed_port
        return self


class Gate:
    """A loopback TCP forwarder to `target_port`: open, it pipes each connection both ways;
    shut, it accepts each connection and closes it at once."""

    def __init__(self, test, target_port):
        self.target_port = target_port
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind((LOOPBACK, 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.is_open = threading.Event()
        self.is_open.set()
        self.sockets = []
        self.attempts_refused = 0
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()
        test.addCleanup(self.stop)

    def open(self):
        self.is_open.set()

    def shut(self):
        self.is_open.clear()

    def _accept(self):
        while True:
            try:
                downstream, _ = self.listener.accept()
            except OSError:
                return
            if not self.is_open.is_set():
                downstream.close()
                with self.lock:
                    self.attempts_refused += 1
                continue
            try:
                upstream = socket.create_connection((LOOPBACK, self.target_port), timeout=5)
                upstream.settimeout(None)
            except OSError:
                downstream.close()
                continue
            with self.lock:
                self.sockets += [downstream, upstream]
            for source, sink in ((downstream, upstream), (upstream, downstream)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source, sink):
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        try:
            sink.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def stop(self):
        try:
            self.listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.listener.close()
        with self.lock:
            for sock in self.sockets:
                sock.close()


def wait_until(test, predicate, description, timeout=DEADLINE):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            test.fail(f"{description} did not happen within {timeout} s")
        time.sleep(0.02)


class RestartTestCase(unittest.TestCase):
    """Two daemons in turn on one port, sharing a state directory."""

    def setUp(self):
        super().setUp()
        state = tempfile.TemporaryDirectory(prefix="chatroom-reconnect-")
        self.addCleanup(state.cleanup)
        self.state_directory = state.name
        self.port = free_port()
        self.daemon = self.start_daemon()

    def start_daemon(self):
        daemon = FixedPortDaemon(self.port, self.state_directory)
        self.addCleanup(daemon.kill)
        return daemon.start()

    def member(self, nick):
        client = OriginalClient.connect(self.port, timeout=DEADLINE)
        self.addCleanup(client.close)
        client.join(nick)
        client.recv_until(f"{nick} has joined the chat!")
        return client

    def restart(self, members):
        """SIGTERM, every member told and closed, the daemon gone; then a new one."""
        self.daemon.send_signal(signal.SIGTERM)
        for member in members:
            member.recv_until("Server is shutting down.")
            member.close()
        self.assertEqual(self.daemon.wait(), 0, self.daemon.stderr)
        self.daemon = self.start_daemon()


class TerminalReconnectTests(RestartTestCase):

    def test_a_restart_while_typing_keeps_the_line_fills_the_gap_once_and_sends_the_queued_line(self):
        gate = Gate(self, self.port)
        bob = self.member("bob")
        pane = TmuxPane(self, client_command(gate.port, "alice"))
        bob.recv_until("alice has joined the chat!")
        bob.send("before the restart")
        pane.wait_for_line("bob: before the restart")
        pane.type("hello from alice")
        pane.press("Enter")
        bob.recv_until("alice: hello from alice")
        pane.type("half typed")
        pane.wait_for(lambda s: s[-1:] == [PROMPT + "half typed"], "the partial line")

        # The restart. Alice's attempts are dropped until the gate opens.
        gate.shut()
        self.restart([bob])
        screen = pane.wait_for(lambda s: "chatroom: server shut down, reconnecting…" in s
                               and s[-1].startswith("[reconnecting in ") and s[-1].endswith("s] > half typed"),
                               "the status line and the countdown before the intact line")
        self.assertIn("Server is shutting down.", screen)
        wait_until(self, lambda: gate.attempts_refused >= 1, "a reconnect attempt")

        # Typed during the outage: queued, and the next line is being typed.
        pane.type(" and finished")
        pane.press("Enter")
        pane.type("still typing")
        pane.wait_for(lambda s: s[-1].startswith("[reconnecting") and s[-1].endswith(", 1 queued] > still typing"),
                      "the queued count and the new partial line")

        # Said on the new daemon before alice can rejoin.
        carol = self.member("carol")
        carol.send("said while alice was away")
        carol.recv_until("carol: said while alice was away")
        gate.open()

        # Alice rejoins; the queued line arrives after her join, then nothing else.
        frames = carol.recv_until("alice: half typed and finished", timeout=DEADLINE)
        self.assertEqual(frames, ["alice has joined the chat!", "alice: half typed and finished"])
        screen = pane.wait_for(lambda s: "alice: half typed and finished" in s and s[-1] == PROMPT + "still typing",
                               "the queued line delivered and the partial line intact")
        text = "\n".join(screen)
        self.assertEqual(len([line for line in screen if line.endswith("bob: before the restart")]), 1,
                         f"a line seen before the restart was shown again:\n{text}")
        self.assertEqual(len([line for line in screen if line.endswith("alice: hello from alice")]), 1,
                         f"alice's own line was shown again:\n{text}")
        missed = [index for index, line in enumerate(screen) if line.endswith("carol: said while alice was away")]
        self.assertEqual(len(missed), 1, f"the missed line is not shown exactly once:\n{text}")
        self.assertRegex(screen[missed[0]], "^" + HISTORY_LINE + "carol: said while alice was away$")
        reconnected = screen.index("chatroom: reconnected as alice")
        delivered = screen.index("alice: half typed and finished")
        self.assertLess(missed[0], reconnected, text)
        self.assertLess(reconnected, delivered, text)
        self.assertEqual(pane.cursor(), (len(PROMPT + "still typing"), len(screen) - 1), "the cursor left the line")

        pane.press("Enter")
        carol.recv_until("alice: still typing")


class PipeReconnectTests(RestartTestCase):

    def test_a_bot_in_a_pipe_survives_a_restart_and_delivers_every_line(self):
        observer = self.member("observer")
        bot = subprocess.Popen([chatroom_binary(), "--nick", "bot", "--port", str(self.port)], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: bot.poll() is None and bot.kill())
        first = [f"line {i}" for i in range(1, 6)]
        bot.stdin.write("".join(line + "\n" for line in first))
        bot.stdin.flush()
        observer.recv_until(f"bot: {first[-1]}")

        self.restart([observer])
        # Written while no daemon runs, then end of input: all must still be delivered.
        second = [f"line {i}" for i in range(6, 11)]
        stdout, stderr = bot.communicate("".join(line + "\n" for line in second), timeout=DEADLINE)
        self.assertEqual(bot.returncode, 0, f"stdout:\n{stdout}\nstderr:\n{stderr}")
        self.assertIn("chatroom: server shut down, reconnecting…", stderr.splitlines())
        self.assertIn("chatroom: reconnected as bot", stderr.splitlines())
        shown = stdout.splitlines()
        for line in first + second:
            self.assertEqual([s for s in shown if s.endswith(f"bot: {line}")], [f"bot: {line}"],
                             f"{line!r} not shown exactly once, live:\n{stdout}")

        # The room's record: every line once, in order.
        reader = OriginalClient.connect(self.port, timeout=DEADLINE)
        self.addCleanup(reader.close)
        reader.join("reader")
        frames = reader.recv_until("reader has joined the chat!")
        replayed = [frame.split("] ", 1)[1] for frame in frames if frame.startswith("[history ")]
        self.assertEqual([r for r in replayed if r.startswith("bot: ")], [f"bot: {line}" for line in first + second])

    def test_no_reconnect_exits_one_when_the_server_goes(self):
        observer = self.member("observer")
        bot = subprocess.Popen([chatroom_binary(), "--nick", "bot", "--port", str(self.port), "--no-reconnect"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: bot.poll() is None and bot.kill())
        observer.recv_until("bot has joined the chat!")
        self.restart([observer])
        stdout, stderr = bot.communicate(timeout=DEADLINE)
        self.assertEqual(bot.returncode, 1, f"stdout:\n{stdout}\nstderr:\n{stderr}")
        self.assertIn("chatroom: disconnected by the server", stderr)
        self.assertNotIn("reconnecting", stderr)


class DismissalTests(DaemonTestCase):
    seed_behaviour = ["--history-lines", "0"]

    def dismiss(self, command, notice):
        # Each on an address of its own: a ban takes the bot's address, not theirs.
        observer = self.join("observer", source="127.0.0.3")
        admin = self.join_admin(source="127.0.0.2")
        observer.recv_until("An admin has joined the chat!")
        bot = subprocess.Popen([chatroom_binary(), "--nick", "bot", "--port", str(self.port)], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: bot.poll() is None and bot.kill())
        observer.recv_until("bot has joined the chat!")
        admin.send(command)
        # Input stays open (closing it would make the bot leave): only the dismissal can end it.
        try:
            bot.wait(timeout=DEADLINE)
        except subprocess.TimeoutExpired:
            self.fail(f"the client did not exit after {command!r} (is it reconnecting?)")
        stdout, stderr = bot.stdout.read(), bot.stderr.read()
        bot.stdin.close()
        self.assertEqual(bot.returncode, 1, f"stdout:\n{stdout}\nstderr:\n{stderr}")
        self.assertTrue(any(line.startswith(notice) for line in stdout.splitlines()), stdout)
        self.assertIn("chatroom: disconnected by the server", stderr)
        self.assertNotIn("reconnecting", stderr)
        observer.send("barrier")
        frames = observer.recv_until("observer: barrier")
        self.assertNotIn("bot has joined the chat!", frames, "the client came back")

    def test_a_kick_does_not_reconnect(self):
        self.dismiss("/kick bot", "You have been kicked")

    def test_a_ban_does_not_reconnect(self):
        self.dismiss("/ban bot", "You have been banned")


if __name__ == "__main__":
    unittest.main()
