"""Shared helpers for the daemon feature suites (test_chat_commands.py, test_daemon_*.py).

Nothing here sleeps. "Nothing else arrived" is shown with a barrier: the daemon handles
events one at a time on one thread, so a frame caused earlier would arrive before the
barrier message.
"""

import os
import re
import subprocess
import tempfile

from chatroomd_fixture import REPO_ROOT, chatroomd_binary

# A known sha512-crypt vector from the SHA-crypt specification: no hashing needed.
SHA512_PASSWORD = "Hello world!"
SHA512_HASH = ("$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1")

EVERYONE_HELP = [
    "Commands:",
    "  /help                     this list",
    "  /who                      who is here ([admin], [muted] marked)",
    "  /msg <nick> <text>        a private message",
    "  /me <action>              * you do something",
    "  /nick <new>               change your nickname",
    "  /login <account> <password>   become an admin",
    "  /limits                   how long and how fast your lines may be",
    "  /topic [<text>|--clear]   show the topic; admins set or clear it",
    "  !DC                       leave",
]
ADMIN_HELP = [
    "Admin commands:",
    "  /kick <nick> [reason]     disconnect a member",
    "  /ban <nick|address|cidr> [duration] [--purge] [reason]   ban and disconnect; durations 30s 10m 2h 7d, none = permanent",
    "  /unban <address|cidr|nick>   lift a ban",
    "  /bans                     bans and mutes with time left",
    "  /mute <nick> [duration] [reason]   silence a member",
    "  /unmute <nick>            lift a mute",
    "  /slowmode <seconds|off>   one message per member per interval",
    "  /say <text>               a server notice to the room",
]

SUBPROCESS_DEADLINE = 30.0


def run_chatroomd(*args, input_text=None, env_update=None):
    """Runs a chatroomd subcommand (check-config, hash-password) to completion."""
    env = dict(os.environ)
    env.pop("CHATROOMD_ADMIN_PASSWORD_HASH", None)
    env.pop("CONFIGURATION_DIRECTORY", None)
    env.pop("CREDENTIALS_DIRECTORY", None)
    env.update(env_update or {})
    return subprocess.run([chatroomd_binary(), *args], input=input_text, capture_output=True, text=True,
                          timeout=SUBPROCESS_DEADLINE, env=env, cwd=str(REPO_ROOT),
                          stdin=None if input_text is not None else subprocess.DEVNULL)


class ChatAssertions:
    """Mixed into DaemonTestCase subclasses."""

    def temporary_directory(self):
        directory = tempfile.TemporaryDirectory(prefix="chatroomd-test-")
        self.addCleanup(directory.cleanup)
        return directory.name

    def assertClosed(self, client, after=None):
        """The next read sees the server's close (EOF), with no further frame."""
        text = client.recv()
        self.assertIsNone(text, f"expected the connection to close{' after ' + repr(after) if after else ''}, "
                                f"got another frame {text!r}")

    def expect(self, client, *texts):
        for text in texts:
            self.assertEqual(client.recv(), text)

    def expect_match(self, client, pattern):
        text = client.recv()
        self.assertIsNotNone(text, f"connection closed, expected a frame matching {pattern!r}")
        match = re.fullmatch(pattern, text)
        self.assertIsNotNone(match, f"{text!r} does not match {pattern!r}")
        return match

    def connect_to(self, port, source):
        """A seed-style client from `source`, closed when the test ends."""
        from original_client import DEFAULT_TIMEOUT, OriginalClient
        client = OriginalClient.connect(port, source=source, timeout=DEFAULT_TIMEOUT)
        self.addCleanup(client.close)
        return client

    def join_to(self, port, nick, source, observers=()):
        """Joins as `nick` from `source`; each observer must see the join next."""
        client = self.connect_to(port, source)
        client.join(nick)
        self.assertEqual(client.recv_n(2), ["Connected to the server", f"{nick} has joined the chat!"])
        for observer in observers:
            self.expect(observer, f"{nick} has joined the chat!")
        return client

    def barrier(self, sender, nick, receivers, text="barrier"):
        """`sender` says `text`; each receiver's very next frame must be it."""
        sender.send(text)
        for receiver in receivers:
            self.assertEqual(receiver.recv(), f"{nick}: {text}")
