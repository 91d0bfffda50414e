"""Dead peers: every accepted connection has TCP keepalive armed, so a client that
vanishes without a FIN (power loss, a dropped NAT mapping) is noticed within minutes and
its member's leave is announced. Checked with ss(8), which shows the kernel's timer."""
import shutil
import subprocess
import time
import unittest

from chatroomd_fixture import DaemonTestCase


class KeepaliveTests(DaemonTestCase):
    def test_accepted_connections_have_keepalive_timers(self):
        if shutil.which("ss") is None:
            self.fail("ss (iproute2) is missing; `make deps` installs it")
        client = self.connect()
        client.send("NICK:alice")
        self.assertEqual(client.recv(), "Connected to the server")
        deadline = time.monotonic() + 5
        while True:
            out = subprocess.run(["ss", "-tno", "state", "established", f"( sport = :{self.port} )"],
                                 capture_output=True, text=True, timeout=10).stdout
            if "keepalive" in out or time.monotonic() > deadline:
                break
        self.assertIn("timer:(keepalive", out, out)
        # Idle 60 s before the first probe (chatroomd's setting, not the kernel's 2 h default).
        self.assertRegex(out, r"timer:\(keepalive,(59|60|1min)", out)


if __name__ == "__main__":
    unittest.main()
