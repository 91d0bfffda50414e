"""A private redis-server for cluster tests: on a Unix socket in a temporary directory,
no persistence, DEBUG enabled (for `DEBUG SLEEP`), stopped after the test. Waits on the
server's own "Ready to accept connections" line, never on a sleep."""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

from chatroomd_fixture import Daemon

START_DEADLINE = 10.0


def redis_server_binary():
    found = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not os.path.exists(found):
        raise RuntimeError("redis-server is not installed (make deps installs the Debian package)")
    return found


class RedisServer:
    def __init__(self, directory):
        self.directory = directory
        self.path = os.path.join(directory, "redis.sock")
        self.process = None

    @property
    def url(self):
        return f"unix:{self.path}"

    def start(self):
        self.process = subprocess.Popen(
            [redis_server_binary(), "--port", "0", "--unixsocket", self.path, "--unixsocketperm", "700",
             "--save", "", "--appendonly", "no", "--dir", self.directory, "--daemonize", "no",
             "--enable-debug-command", "yes", "--loglevel", "notice"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        ready = threading.Event()
        lines = []

        def read():
            for raw in iter(self.process.stdout.readline, b""):
                lines.append(raw.decode(errors="replace"))
                if b"ready to accept connections" in raw.lower():
                    ready.set()
            self.process.stdout.close()
        threading.Thread(target=read, daemon=True).start()
        if not ready.wait(START_DEADLINE):
            self.kill()
            raise AssertionError("redis-server did not start:\n" + "".join(lines))
        return self

    def kill(self):
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def command(self, *args, timeout=10.0):
        """One command over a fresh connection; returns the reply's first line."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(self.path)
            payload = f"*{len(args)}\r\n".encode()
            for arg in args:
                data = arg if isinstance(arg, bytes) else str(arg).encode()
                payload += f"${len(data)}\r\n".encode() + data + b"\r\n"
            sock.sendall(payload)
            reply = b""
            while not reply.endswith(b"\r\n"):
                chunk = sock.recv(4096)
                if not chunk:
                    break
                reply += chunk
            return reply.decode(errors="replace").strip()


def start_node(test, redis, name, extra=(), seed_behaviour=None):
    """A chatroomd joined to `redis` as node `name`, linked before it returns."""
    daemon = Daemon(["--redis", redis.url, "--node-name", name] + list(extra), seed_behaviour=seed_behaviour)
    daemon.start()
    test.addCleanup(daemon.kill)
    daemon.wait_for_log(r"Linked to the cluster as node " + name, timeout=START_DEADLINE)
    return daemon


def temporary_directory(test):
    directory = tempfile.mkdtemp(prefix="chatroomd-redis-")
    test.addCleanup(shutil.rmtree, directory, True)
    return directory


def monotonic():
    return time.monotonic()
