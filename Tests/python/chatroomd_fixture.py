"""Runs the real chatroomd for a test: an ephemeral port on loopback, stderr kept.

The daemon is started with `--listen 127.0.0.1:0` and an admin password hash. A reader
thread collects its stderr line by line; `start()` returns once the daemon has logged
`listening on 127.0.0.1:PORT` (or fails after a deadline), so no test ever sleeps to
wait for it. `stop()` sends SIGTERM and waits for the exit, again with a deadline.

The binary is $CHATROOMD_BIN (set by `make test-python`), or else
<repo>/.build/debug/chatroomd, the repo being two directories above this file.
"""

import hashlib
import os
import re
import resource
import signal
import subprocess
import threading
import time
import unittest
from pathlib import Path

from original_client import DEFAULT_TIMEOUT, OriginalClient

REPO_ROOT = Path(__file__).resolve().parents[2]
LOOPBACK = "127.0.0.1"
ADMIN_PASSWORD = "correct horse battery staple"
ADMIN_PASSWORD_HASH = hashlib.sha256(ADMIN_PASSWORD.encode("utf-8")).hexdigest()

START_DEADLINE = 10.0
STOP_DEADLINE = 10.0

_LISTENING = re.compile(r"listening on 127\.0\.0\.1:(\d+)")


def binary(env_name, default_name):
    """The path of a built binary, or an AssertionError naming what is missing."""
    path = os.environ.get(env_name) or str(REPO_ROOT / ".build" / "debug" / default_name)
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise AssertionError(
            f"{default_name} binary not found at {path} (${env_name} or the default); "
            f"build it first with `swift build` in {REPO_ROOT}")
    return path


def chatroomd_binary():
    return binary("CHATROOMD_BIN", "chatroomd")


def chatroom_binary():
    return binary("CHATROOM_BIN", "chatroom")


class Daemon:
    """One chatroomd process. Use `start()`, then `port`, then `stop()`."""

    def __init__(self, extra_args=(), seed_behaviour=None, binary=None):
        self.extra_args = list(extra_args)
        self.binary = binary  # None: chatroomd_binary()
        # None: SEED_BEHAVIOUR. Tests of history, flood control or reloads pass their own
        # (often []), since a flag given here would override their configuration file.
        self.seed_behaviour = list(self.SEED_BEHAVIOUR if seed_behaviour is None else seed_behaviour)
        self.process = None
        self.port = None
        self.returncode = None
        self._lines = []
        self._changed = threading.Condition()
        self._eof = False
        self._reader = None

    # MARK: Lifecycle

    # These suites check the seed's behaviour byte for byte, so the features it never
    # had stay out of the way: no history replay on join (it would come between
    # "Connected to the server" and the join line), and flood control loose enough for
    # bursts of test traffic, and every join and leave announced one by one. Each feature
    # has tests of its own.
    SEED_BEHAVIOUR = ["--history-lines", "0", "--flood-burst", "1000", "--flood-rate", "1000",
                      "--joins-per-address-per-minute", "off", "--presence-rate", "off",
                      "--accepts-per-address-per-second", "off"]

    def start(self):
        args = [self.binary or chatroomd_binary(), "--listen", f"{LOOPBACK}:0",
                "--admin-password-hash", ADMIN_PASSWORD_HASH] + self.seed_behaviour + self.extra_args
        env = dict(os.environ)
        env.pop("CHATROOMD_ADMIN_PASSWORD_HASH", None)
        limit = getattr(self, "descriptor_limit", None)
        preexec = (lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))) if limit else None
        self.process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE, env=env, cwd=str(REPO_ROOT), preexec_fn=preexec)
        self._reader = threading.Thread(target=self._read_stderr, name="chatroomd-stderr", daemon=True)
        self._reader.start()
        try:
            match = self.wait_for_log(_LISTENING, timeout=START_DEADLINE)
        except AssertionError:
            self.kill()
            raise
        self.port = int(match.group(1))
        return self

    def send_signal(self, sig=signal.SIGTERM):
        """Signals the daemon without waiting (it may be waiting for peers to close)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)

    def stop(self, sig=signal.SIGTERM, timeout=STOP_DEADLINE):
        """Signals the daemon and waits for it to exit; returns the exit status."""
        if self.process is None:
            return None
        self.send_signal(sig)
        return self.wait(timeout)

    def wait(self, timeout=STOP_DEADLINE):
        """Waits for the daemon to exit (after a signal); returns the exit status."""
        try:
            self.returncode = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"chatroomd did not exit within {timeout} s; "
                                 f"stderr so far:\n{self.stderr}")
        self._reader.join(timeout=timeout)
        return self.returncode

    def kill(self):
        """Last resort (teardown): SIGKILL our own process if it is still running."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=STOP_DEADLINE)
        if self._reader is not None:
            self._reader.join(timeout=STOP_DEADLINE)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        if self.process is not None and self.process.poll() is None:
            self.stop()
        self.kill()
        return False

    # MARK: stderr

    def _read_stderr(self):
        stream = self.process.stderr
        for raw in iter(stream.readline, b""):
            with self._changed:
                self._lines.append(raw.decode("utf-8", errors="replace").rstrip("\n"))
                self._changed.notify_all()
        stream.close()
        with self._changed:
            self._eof = True
            self._changed.notify_all()

    @property
    def stderr_lines(self):
        with self._changed:
            return list(self._lines)

    @property
    def stderr(self):
        return "\n".join(self.stderr_lines)

    def wait_for_log(self, pattern, timeout=5.0, after=0):
        """Blocks until a stderr line matches `pattern` (regex or compiled); returns the match.
        Lines before index `after` (a length of `stderr_lines` taken earlier) are skipped."""
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        with self._changed:
            checked = after
            while True:
                for line in self._lines[checked:]:
                    match = regex.search(line)
                    if match:
                        return match
                checked = len(self._lines)
                remaining = deadline - time.monotonic()
                if self._eof:
                    raise AssertionError(
                        f"chatroomd stderr closed (exit status {self.process.poll()}) without a line "
                        f"matching {regex.pattern!r}; stderr:\n" + "\n".join(self._lines))
                if remaining <= 0:
                    raise AssertionError(
                        f"no chatroomd stderr line matched {regex.pattern!r} within {timeout} s; stderr:\n"
                        + "\n".join(self._lines))
                self._changed.wait(remaining)


class DaemonTestCase(unittest.TestCase):
    """A fresh daemon per test (bans and nicks never leak between tests). Clients made
    with `self.connect()` are closed before the daemon is stopped, and the daemon must
    then exit 0 after SIGTERM."""

    daemon_args = ()
    seed_behaviour = None  # None: Daemon.SEED_BEHAVIOUR

    def setUp(self):
        super().setUp()
        self.daemon = Daemon(self.daemon_args, seed_behaviour=self.seed_behaviour)
        self.daemon.start()
        self.port = self.daemon.port
        self.addCleanup(self._stop_daemon)

    def _stop_daemon(self):
        try:
            status = self.daemon.stop()
        finally:
            self.daemon.kill()
        if status != 0:
            self.fail(f"chatroomd exited with status {status} after SIGTERM; stderr:\n{self.daemon.stderr}")

    def connect(self, source=None, timeout=None):
        client = OriginalClient.connect(self.port, source=source,
                                        timeout=DEFAULT_TIMEOUT if timeout is None else timeout)
        self.addCleanup(client.close)
        return client

    def join(self, nick, source=None):
        """Connects and joins as `nick`; returns the client once it has seen its own join."""
        client = self.connect(source=source)
        client.join(nick)
        self.assertEqual(client.recv_n(2), ["Connected to the server", f"{nick} has joined the chat!"])
        return client

    def join_admin(self, source=None):
        client = self.connect(source=source)
        client.login_admin(ADMIN_PASSWORD)
        self.assertEqual(client.recv_n(2), ["Connected to the server", "An admin has joined the chat!"])
        return client
