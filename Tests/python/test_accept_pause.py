"""Out of descriptors: accepting pauses and resumes from a timer, with a log line per pause
(not per attempt), no busy loop, and nobody already in the room notices."""
import socket
import time
import unittest

from chatroomd_fixture import Daemon, LOOPBACK
from original_client import OriginalClient


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100.0  # utime + stime, in clock ticks of 1/100 s


class AcceptPauseTests(unittest.TestCase):
    def test_emfile_pauses_accepting_without_spinning_and_resumes(self):
        daemon = Daemon()
        daemon.descriptor_limit = 24
        daemon.start()
        self.addCleanup(daemon.kill)
        member = OriginalClient.connect(daemon.port)
        self.addCleanup(member.close)
        member.send("NICK:alice")
        self.assertEqual(member.recv(), "Connected to the server")
        self.assertEqual(member.recv(), "alice has joined the chat!")

        # More connections than descriptors: the kernel completes them into the backlog,
        # the daemon runs out of descriptors accepting them.
        extra = []
        for _ in range(40):
            s = socket.create_connection((LOOPBACK, daemon.port), timeout=5)
            extra.append(s)
        self.addCleanup(lambda: [s.close() for s in extra])
        daemon.wait_for_log(r"chat_event=accept-paused", timeout=10)
        start_cpu, start = cpu_seconds(daemon.process.pid), time.monotonic()
        before = sum("chat_event=accept-paused" in line for line in daemon.stderr_lines)
        # Two more pause cycles (250 ms each) pass.
        daemon.wait_for_log(r"chat_event=accept-paused", timeout=10, after=len(daemon.stderr_lines))
        daemon.wait_for_log(r"chat_event=accept-paused", timeout=10, after=len(daemon.stderr_lines))
        elapsed = time.monotonic() - start
        pauses = sum("chat_event=accept-paused" in line for line in daemon.stderr_lines) - before
        self.assertLessEqual(pauses, elapsed / 0.25 + 2, "one line per pause, not per attempt")
        self.assertLess(cpu_seconds(daemon.process.pid) - start_cpu, 0.5 * elapsed + 0.1, "accepting must not spin")

        # The member in the room is unaffected.
        member.send("still here")
        self.assertEqual(member.recv(), "alice: still here")

        # Free descriptors: accepting resumes by itself and a newcomer joins.
        for s in extra:
            s.close()
        extra.clear()
        deadline = time.monotonic() + 10
        while True:
            try:
                late = OriginalClient.connect(daemon.port)
                late.send("NICK:late")
                if late.recv(timeout=2) == "Connected to the server":
                    late.close()
                    break
                late.close()
            except (OSError, TimeoutError):
                pass
            self.assertLess(time.monotonic(), deadline, "accepting never resumed")
        self.assertEqual(member.recv(), "late has joined the chat!")


if __name__ == "__main__":
    unittest.main()
