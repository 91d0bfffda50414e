"""chatroomd speaking systemd's protocols, exercised without systemd.

The test plays the service manager: it owns the $NOTIFY_SOCKET datagram socket, passes a
listening socket the way socket activation does (fd 3, LISTEN_FDS, LISTEN_PID), and sets
WATCHDOG_USEC. The real systemd is exercised by Tests/systemd/e2e.sh.
"""
import os
import select
import signal
import socket
import subprocess
import tempfile
import time
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DAEMON = os.environ.get("CHATROOMD_BIN", str(ROOT / ".build/debug/chatroomd"))


def frame(text):
    payload = text.encode()
    return str(len(payload)).encode().ljust(64) + payload


def read_frame(sock, deadline):
    def read_exactly(n):
        data = b""
        while len(data) < n:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError("no frame before the deadline")
            sock.settimeout(remaining)
            chunk = sock.recv(n - len(data))
            if not chunk:
                return None
            data += chunk
        return data
    header = read_exactly(64)
    if header is None:
        return None
    payload = read_exactly(int(header))
    return None if payload is None else payload.decode()


class ServiceManagerDouble:
    """Receives sd_notify datagrams and lets the test wait for assignments."""

    def __init__(self):
        self.directory = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.directory.name, "notify")
        self.socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.socket.bind(self.path)
        self.messages = []

    def wait_for(self, predicate, what, timeout=10):
        deadline = time.monotonic() + timeout
        while True:
            for message in self.messages:
                if predicate(message):
                    return message
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no notification {what} within {timeout}s; got {self.messages}")
            ready, _, _ = select.select([self.socket], [], [], remaining)
            if ready:
                self.messages.append(self.socket.recv(4096).decode())

    def close(self):
        self.socket.close()
        self.directory.cleanup()


class ServiceManagerProtocolTests(unittest.TestCase):
    def start(self, extra_env=None, pass_listener=False, args=()):
        self.manager = ServiceManagerDouble()
        self.addCleanup(self.manager.close)
        env = {k: v for k, v in os.environ.items()
               if k not in ("LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "WATCHDOG_USEC", "WATCHDOG_PID",
                            "JOURNAL_STREAM", "CHATROOMD_ADMIN_PASSWORD_HASH", "STATE_DIRECTORY")}
        env["NOTIFY_SOCKET"] = self.manager.path
        env.update(extra_env or {})
        command = [DAEMON, "--log-level", "debug", *args]
        pass_fds = ()
        if pass_listener:
            self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.listener.bind(("127.0.0.1", 0))
            self.listener.listen(16)
            self.port = self.listener.getsockname()[1]
            fd = self.listener.fileno()
            # LISTEN_PID must be the daemon's own pid: sh's $$ survives the exec.
            command = ["/bin/sh", "-c", f'exec 3<&{fd}; LISTEN_PID=$$ LISTEN_FDS=1 LISTEN_FDNAMES=chatroomd.socket exec "$@"', "sh", *command]
            pass_fds = (fd,)
        else:
            command += ["--listen", "127.0.0.1:0"]
        self.stderr_file = tempfile.TemporaryFile()
        self.addCleanup(self.stderr_file.close)
        self.process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=self.stderr_file, pass_fds=pass_fds)
        self.addCleanup(self.stop)
        if pass_listener:
            self.listener.close()

    def stop(self):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)

    def stderr(self):
        self.stderr_file.seek(0)
        return self.stderr_file.read().decode(errors="replace")

    def port_from_log(self):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            for line in self.stderr().splitlines():
                if "listening on 127.0.0.1:" in line:
                    return int(line.rsplit(":", 1)[1].split()[0])
            select.select([], [], [], 0.02)  # poll interval inside a deadline loop
        raise AssertionError("daemon never logged its port:\n" + self.stderr())

    def join(self, nick):
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        sock.sendall(frame(f"NICK:{nick}"))
        deadline = time.monotonic() + 5
        self.assertEqual(read_frame(sock, deadline), "Connected to the server")
        self.assertEqual(read_frame(sock, deadline), f"{nick} has joined the chat!")
        return sock

    def test_ready_status_reload_and_stopping_are_announced_in_order(self):
        self.start()
        ready = self.manager.wait_for(lambda m: "READY=1" in m, "READY=1")
        self.assertIn("STATUS=0 members online", ready)
        self.port = self.port_from_log()
        alice = self.join("alice")
        self.manager.wait_for(lambda m: "STATUS=1 member online" in m, "status with one member")

        self.process.send_signal(signal.SIGHUP)
        reloading = self.manager.wait_for(lambda m: "RELOADING=1" in m, "RELOADING=1")
        self.assertRegex(reloading, r"MONOTONIC_USEC=\d+")
        index = self.manager.messages.index(reloading)
        self.manager.wait_for(lambda m: "READY=1" in m and self.manager.messages.index(m) > index, "READY=1 after reload")
        # The member stayed connected through the reload.
        alice.sendall(frame("still here"))
        self.assertEqual(read_frame(alice, time.monotonic() + 5), "alice: still here")

        self.process.send_signal(signal.SIGTERM)
        self.manager.wait_for(lambda m: "STOPPING=1" in m, "STOPPING=1")
        self.assertEqual(read_frame(alice, time.monotonic() + 5), "Server is shutting down.")
        alice.close()
        self.assertEqual(self.process.wait(timeout=10), 0)

    def test_watchdog_pings_come_from_the_loop_at_half_the_interval(self):
        self.start(extra_env={"WATCHDOG_USEC": "200000"})
        self.manager.wait_for(lambda m: "READY=1" in m, "READY=1")
        deadline = time.monotonic() + 5
        while sum(1 for m in self.manager.messages if m == "WATCHDOG=1") < 4:
            self.assertLess(time.monotonic(), deadline, f"too few pings: {self.manager.messages}")
            ready, _, _ = select.select([self.manager.socket], [], [], max(0.0, deadline - time.monotonic()))
            if ready:
                self.manager.messages.append(self.manager.socket.recv(4096).decode())
        # A stopped loop sends no pings: that is what lets systemd detect a wedge.
        self.process.send_signal(signal.SIGSTOP)
        drained = []
        while select.select([self.manager.socket], [], [], 0.5)[0]:
            drained.append(self.manager.socket.recv(4096).decode())
            if len(drained) > 2:
                break
        self.assertLessEqual(len(drained), 2, "pings continued while the process was stopped")
        self.process.send_signal(signal.SIGCONT)

    def test_socket_activation_uses_the_passed_listener_and_binds_nothing(self):
        self.start(pass_listener=True)
        self.manager.wait_for(lambda m: "READY=1" in m, "READY=1")
        self.assertIn("from systemd (chatroomd.socket)", self.stderr())
        alice = self.join("alice")
        alice.sendall(frame("via the inherited socket"))
        self.assertEqual(read_frame(alice, time.monotonic() + 5), "alice: via the inherited socket")
        alice.close()

    def test_a_passed_socket_that_is_not_listening_is_a_configuration_error(self):
        manager = ServiceManagerDouble()
        self.addCleanup(manager.close)
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.addCleanup(udp.close)
        fd = udp.fileno()
        env = dict(os.environ, NOTIFY_SOCKET=manager.path)
        result = subprocess.run(["/bin/sh", "-c", f'exec 3<&{fd}; LISTEN_PID=$$ LISTEN_FDS=1 exec "$@"', "sh", DAEMON],
                                env=env, pass_fds=(fd,), stdin=subprocess.DEVNULL, capture_output=True, timeout=20)
        self.assertEqual(result.returncode, 78, result.stderr.decode())
        self.assertIn("not a listening stream socket", result.stderr.decode())

    def test_bans_survive_a_restart_through_the_state_directory(self):
        state = tempfile.TemporaryDirectory()
        self.addCleanup(state.cleanup)
        admin_hash = "77a4e206296282b0c1acebc0bebff60856cf558f731762d241cb9be07b60119a"  # sha256("s3cret-admin")
        self.start(extra_env={"STATE_DIRECTORY": state.name}, args=["--admin-password-hash", admin_hash])
        self.manager.wait_for(lambda m: "READY=1" in m, "READY=1")
        self.port = self.port_from_log()
        admin = socket.create_connection(("127.0.0.1", self.port), timeout=5, source_address=("127.0.0.1", 0))
        admin.sendall(frame("admin:s3cret-admin"))
        deadline = time.monotonic() + 5
        self.assertEqual(read_frame(admin, deadline), "Connected to the server")
        self.assertEqual(read_frame(admin, deadline), "An admin has joined the chat!")
        target = socket.create_connection(("127.0.0.1", self.port), timeout=5, source_address=("127.0.0.2", 0))
        target.sendall(frame("NICK:mallory"))
        self.assertEqual(read_frame(admin, deadline), "mallory has joined the chat!")
        admin.sendall(frame("/ban mallory"))
        self.assertEqual(read_frame(admin, deadline), "mallory has been banned from the server.")
        self.assertIn("127.0.0.2", Path(state.name, "sanctions.json").read_text())
        admin.close()
        target.close()
        self.process.send_signal(signal.SIGTERM)
        self.assertEqual(self.process.wait(timeout=10), 0)

        self.start(extra_env={"STATE_DIRECTORY": state.name})
        self.manager.wait_for(lambda m: "STATUS=0 members online" in m and "1 active ban" in m, "restored ban in status")
        self.port = self.port_from_log()
        again = socket.create_connection(("127.0.0.1", self.port), timeout=5, source_address=("127.0.0.2", 0))
        self.assertEqual(read_frame(again, time.monotonic() + 5), "You are banned from this server.")
        self.assertIsNone(read_frame(again, time.monotonic() + 5))


if __name__ == "__main__":
    unittest.main()
