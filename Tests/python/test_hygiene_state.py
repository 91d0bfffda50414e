"""State files validated on load (issue 10, finding 5): a sanctions.json entry with a time
at Int64.min used to trap the daemon at start (a crash loop under systemd). Now the bad
entry is set aside and reported with its file and index, the good entries load, and the
daemon keeps serving.

Nothing sleeps: waits are blocking reads and log lines with deadlines.
"""

import glob
import os
import unittest

from test_daemon_state import SANCTIONS, StateTestCase

INT64_MIN = -9223372036854775808
FAR_FUTURE = 4102444800  # 2100-01-01


class StateValidationTests(StateTestCase):
    def test_an_int64_min_entry_is_set_aside_and_the_good_ones_load(self):
        self.write_sanctions([
            {"kind": "ban", "range": "127.0.0.2/32", "nick": "bob", "setBy": "admin", "setAt": 1700000000},
            {"kind": "ban", "range": "127.0.0.3/32", "setBy": "admin", "setAt": 1700000000, "expiresAt": INT64_MIN},
            {"kind": "ban", "range": "127.0.0.4/32", "setBy": "admin", "setAt": INT64_MIN, "expiresAt": FAR_FUTURE},
            {"kind": "ban", "range": "127.0.0.5/32", "setBy": "admin", "setAt": 1700000000, "expiresAt": FAR_FUTURE},
        ])
        with open(self.path(SANCTIONS), "rb") as file:
            original = file.read()

        daemon = self.start()
        path = self.path(SANCTIONS)
        # Logged while starting, so before the "listening" line start() waited for.
        reports = [line for line in daemon.stderr_lines if "chat_event=state-unreadable" in line]
        for index, field in ((1, "expiresAt"), (2, "setAt")):
            self.assertTrue(any(f"{path}: sanctions[{index}]: {field} {INT64_MIN} is outside" in line for line in reports),
                            f"no report of entry {index}:\n{daemon.stderr}")
        copies = glob.glob(path + ".corrupt-*")
        self.assertEqual(len(copies), 1, os.listdir(self.state))
        with open(copies[0], "rb") as file:
            self.assertEqual(file.read(), original)
        self.assertTrue(any("2 bad entries set aside, 2 loaded" in line and copies[0] in line for line in reports), daemon.stderr)

        # The good bans hold; the addresses of the bad entries are not banned.
        self.assertRefusedAsBanned(daemon, "127.0.0.2")
        self.assertRefusedAsBanned(daemon, "127.0.0.5")
        carol = self.join(daemon, "carol", "127.0.0.3")
        # It keeps running: a member is served and the admin sees the two good bans.
        admin = self.join_admin(daemon)
        self.expect(carol, "An admin has joined the chat!")
        admin.send("/bans")
        self.assertEqual(admin.recv(), "Bans (2):")
        self.expect_match(admin, r"  bob \(127\.0\.0\.2\) by admin, permanent")
        self.expect_match(admin, r"  127\.0\.0\.5 by admin, .* left")
        for client in (admin, carol):
            client.close()
        self.stop(daemon)

        # The next start reads a clean file: no crash loop, nothing more to report.
        again = self.start()
        self.assertFalse(any("state-unreadable" in line for line in again.stderr_lines), again.stderr)
        self.assertRefusedAsBanned(again, "127.0.0.2")


if __name__ == "__main__":
    unittest.main()
