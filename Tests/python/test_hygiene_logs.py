"""Log injection (issue 10, finding 6): text a client chooses reaches the daemon's log
only escaped. A `/login` account name holding a newline, a tab, ESC and NBSP must not
start a forged log line nor put a raw escape sequence on the operator's terminal.

Nothing sleeps: the daemon's stderr is read line by line and waited on with deadlines.
"""

import unittest

from chat_test_support import ChatAssertions, SHA512_HASH
from chatroomd_fixture import DaemonTestCase

FORGED = "FORGED-LINE"
# No plain space: /login splits the account from the password at the first one.
ACCOUNT = f"x\n{FORGED}\u00a0notice\u00a0chatroomd:\u00a0chat_event=admin-login\tend\x1b[2J\x1b]0;owned\x07"
ESCAPED = "x\\nFORGED-LINE\\u{A0}notice\\u{A0}chatroomd:\\u{A0}chat_event=admin-login\\tend\\u{1B}[2J\\u{1B}]0;owned\\u{7}"


class LogInjectionTests(ChatAssertions, DaemonTestCase):
    daemon_args = ("--admin", f"root {SHA512_HASH}")

    def test_login_account_name_is_escaped_in_the_log(self):
        member = self.join("mallory", source="127.0.0.2")
        before = len(self.daemon.stderr_lines)
        member.send(f"/login {ACCOUNT} wrong")
        member.recv()  # the refusal: the login has been handled and logged by now
        match = self.daemon.wait_for_log(r"Failed login to unknown account (\S+) from", after=before)
        self.assertEqual(match.group(1), ESCAPED)

        lines = self.daemon.stderr_lines
        for line in lines:
            self.assertFalse(line.startswith(FORGED), f"forged log line: {line!r}")
            for raw in ("\x1b", "\x07", "\t", "\u00a0"):
                self.assertNotIn(raw, line, f"raw {raw!r} in log line {line!r}")
        # The metadata on the same line carries the account escaped too.
        failed = [line for line in lines if "Failed login to unknown account" in line]
        self.assertEqual(len(failed), 1, "\n".join(lines))
        self.assertIn(f"chat_account={ESCAPED}", failed[0])


if __name__ == "__main__":
    unittest.main()
