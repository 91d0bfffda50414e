"""Plays systemd for chatroomd.service, as far as restarts go: the notify socket, a socket
unit's listener, and the file descriptor store (FDSTORE=1 with FDNAME=, FDSTOREREMOVE=1,
BARRIER=1, stored sockets dropped on POLLHUP or POLLERR, duplicates refused). It starts
chatroomd with the listener and everything stored, named, in $LISTEN_FDS and
$LISTEN_FDNAMES, as systemd does on a restart, so the restart paths can be tested in
seconds, without booting systemd. The real systemd does the same in Tests/systemd/e2e.sh.

A pump thread serves the notify socket and watches the stored sockets; waits are on a
condition with a deadline.
"""

import array
import fcntl
import os
import re
import select
import signal
import socket
import stat
import tempfile
import threading
import time

from chatroomd_fixture import ADMIN_PASSWORD_HASH, Daemon, chatroomd_binary

DEADLINE = 15.0


class StoreDouble:
    def __init__(self, extra_args=(), capacity=4096, tls_listener=False):
        self.directory = tempfile.TemporaryDirectory(prefix="chatroomd-store-")
        self.notify_path = os.path.join(self.directory.name, "notify")
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(self.notify_path)
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(128)
        self.port = self.listener.getsockname()[1]
        # A second socket unit's listener, named as chatroomd-tls.socket names it.
        self.tls_listener = None
        if tls_listener:
            self.tls_listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.tls_listener.bind(("127.0.0.1", 0))
            self.tls_listener.listen(128)
            self.tls_port = self.tls_listener.getsockname()[1]
        self.capacity = capacity
        self.args = [chatroomd_binary(), "--admin-password-hash", ADMIN_PASSWORD_HASH,
                     "--control-socket", "none", *Daemon.SEED_BEHAVIOUR, *extra_args]
        self.stored = []  # (name, fd), in the order stored
        self.messages = []
        self.changed = threading.Condition()
        self.pid = None
        self.status = None
        self.log_path = os.path.join(self.directory.name, "stderr")
        self.running = True
        self.pump_thread = threading.Thread(target=self._pump, name="store-double", daemon=True)
        self.pump_thread.start()

    # MARK: the service

    def spawn(self):
        """Starts chatroomd with the listener and the store, as systemd starts the service."""
        with self.changed:
            passed = [("chatroomd.socket", self.listener.fileno())] + list(self.stored)
            if self.tls_listener:
                passed.insert(1, ("tls", self.tls_listener.fileno()))
            self.status = None
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("LISTEN_", "WATCHDOG_", "CHATROOMD_")) and k not in ("JOURNAL_STREAM", "STATE_DIRECTORY")}
        env.update(NOTIFY_SOCKET=self.notify_path, LISTEN_FDS=str(len(passed)),
                   LISTEN_FDNAMES=":".join(name for name, _ in passed))
        if self.capacity:
            env["FDSTORE"] = str(self.capacity)  # 0: a unit without FileDescriptorStoreMax=
        log = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        pid = os.fork()
        if pid == 0:  # the child: only descriptor juggling and the exec
            try:
                high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 4096) for _, fd in passed]
                for index, fd in enumerate(high):
                    os.dup2(fd, 3 + index)
                os.dup2(log, 2)
                null = os.open("/dev/null", os.O_RDWR)
                os.dup2(null, 0)
                os.dup2(null, 1)
                env["LISTEN_PID"] = str(os.getpid())
                os.execve(self.args[0], self.args, env)
            finally:
                os._exit(127)
        os.close(log)
        self.pid = pid
        return pid

    def wait_exit(self, timeout=DEADLINE):
        """The exit status (or -signal) of the running chatroomd, within the deadline."""
        deadline = time.monotonic() + timeout
        while True:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid == self.pid:
                self.status = os.waitstatus_to_exitcode(status)
                return self.status
            if time.monotonic() > deadline:
                raise AssertionError(f"chatroomd did not exit within {timeout} s; log:\n{self.log()}")
            with self.changed:
                self.changed.wait(0.05)  # woken early by any notification

    def kill(self, sig=signal.SIGKILL):
        if self.pid and self.status is None:
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    def close(self):
        if self.pid and self.status is None:
            self.kill()
            self.wait_exit()
        self.running = False
        self.pump_thread.join(timeout=5)
        with self.changed:
            for _, fd in self.stored:
                os.close(fd)
            self.stored = []
        self.notify.close()
        self.listener.close()
        if self.tls_listener:
            self.tls_listener.close()
        self.directory.cleanup()

    # MARK: waiting

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def wait_for_log(self, pattern, after=0, timeout=DEADLINE):
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            text = self.log()[after:]
            match = regex.search(text)
            if match:
                return match
            if time.monotonic() > deadline:
                raise AssertionError(f"no log line matched {pattern!r} within {timeout} s; log:\n{self.log()[after:]}")
            with self.changed:
                self.changed.wait(0.05)  # a poll interval inside the deadline loop

    def log_length(self):
        return len(self.log())

    def wait_until(self, predicate, what, timeout=DEADLINE):
        deadline = time.monotonic() + timeout
        with self.changed:
            while not predicate():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    names = self.names()
                    summary = {name: names.count(name) for name in set(names)}
                    raise AssertionError(f"{what}: not within {timeout} s; the store holds {summary}")
                self.changed.wait(remaining)

    def names(self):
        with self.changed:
            return [name for name, _ in self.stored]

    def count(self, name):
        return sum(1 for stored in self.names() if stored == name)

    def wait_ready(self):
        self.wait_until(lambda: any("READY=1" in m for m in self.messages), "READY=1")

    def put(self, name, fd):
        """Stores a duplicate of `fd` as if the service had."""
        with self.changed:
            self.stored.append((name, os.dup(fd)))

    def replace(self, name, fd):
        with self.changed:
            for stored_name, stored_fd in self.stored:
                if stored_name == name:
                    os.close(stored_fd)
            self.stored = [(n, f) for n, f in self.stored if n != name] + [(name, os.dup(fd))]

    # MARK: the pump

    def _pump(self):
        poller = select.poll()
        poller.register(self.notify, select.POLLIN)
        watched = set()
        while self.running:
            with self.changed:
                sockets = {fd for _, fd in self.stored if stat.S_ISSOCK(os.fstat(fd).st_mode)}
            for fd in sockets - watched:
                poller.register(fd, 0)  # POLLHUP and POLLERR are always reported
            for fd in watched - sockets:
                poller.unregister(fd)
            watched = sockets
            for fd, events in poller.poll(50):
                if fd == self.notify.fileno():
                    self._receive()
                elif events & (select.POLLHUP | select.POLLERR):
                    with self.changed:
                        self.stored = [(n, f) for n, f in self.stored if f != fd]
                        os.close(fd)
                        self.changed.notify_all()
                    poller.unregister(fd)
                    watched.discard(fd)

    @staticmethod
    def _identity(fd):
        status = os.fstat(fd)
        return status.st_dev, status.st_ino

    def _receive(self):
        try:
            data, ancillary, _, _ = self.notify.recvmsg(65536, socket.CMSG_SPACE(253 * 4))
        except BlockingIOError:
            return
        fds = array.array("i")
        for level, kind, payload in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.frombytes(payload[:len(payload) - len(payload) % fds.itemsize])
        fields = dict(line.split("=", 1) for line in data.decode().splitlines() if "=" in line)
        with self.changed:
            self.messages.append(data.decode())
            if fields.get("BARRIER") == "1":
                for fd in fds:
                    os.close(fd)
            elif fields.get("FDSTORE") == "1":
                name = fields.get("FDNAME", "stored")
                known = {self._identity(f) for _, f in self.stored}
                for fd in fds:
                    if self._identity(fd) in known or len(self.stored) >= self.capacity:
                        os.close(fd)
                    else:
                        self.stored.append((name, fd))
                        known.add(self._identity(fd))
            else:
                for fd in fds:
                    os.close(fd)
            if fields.get("FDSTOREREMOVE") == "1":
                name = fields.get("FDNAME", "stored")
                for stored_name, fd in self.stored:
                    if stored_name == name:
                        os.close(fd)
                self.stored = [(n, f) for n, f in self.stored if n != name]
            self.changed.notify_all()
