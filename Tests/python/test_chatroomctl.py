"""chatroomctl against a real chatroomd over its control socket.

Each test gets its own daemon with `--control-socket <tmpdir>/control`. Moderation from
chatroomctl must reach members exactly as the admin's /command does, so the tests do
the same thing both ways where they can and compare what the members receive; the
daemon's log must name the actor chatroomctl:<user> in chat_by.

Nothing sleeps: every wait is a blocking read or a subprocess with a deadline. The
access tests switch to an unprivileged user (uid/gid 65534) with setpriv and run only
as root; no system group is created: the group test uses gid 65534's own group.

The binary is $CHATROOMCTL_BIN, or else <repo>/.build/debug/chatroomctl.
"""

import grp
import json
import os
import pwd
import re
import shutil
import socket
import stat
import subprocess
import tempfile
import threading
import unittest

from chatroomd_fixture import DaemonTestCase, binary
from original_client import encode_header

CTL_DEADLINE = 20.0  # chatroomctl's own reply deadline is 10 s
UNPRIVILEGED = 65534


def chatroomctl_binary():
    return binary("CHATROOMCTL_BIN", "chatroomctl")


def current_user():
    return pwd.getpwuid(os.geteuid()).pw_name


def run_chatroomctl(*args, as_unprivileged=False, env=None):
    command = [chatroomctl_binary(), *args]
    if as_unprivileged:
        command = ["setpriv", f"--reuid={UNPRIVILEGED}", f"--regid={UNPRIVILEGED}", "--clear-groups"] + command
    environment = dict(os.environ)
    environment.pop("CHATROOMD_CONTROL_SOCKET", None)
    environment.update(env or {})
    return subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=CTL_DEADLINE, env=environment)


def unprivileged_runs_chatroomctl():
    """None when uid 65534 can run chatroomctl here, else why not (for skipTest)."""
    if os.geteuid() != 0:
        return "needs root to switch to an unprivileged user"
    if shutil.which("setpriv") is None:
        return "setpriv (util-linux) is not installed"
    try:
        result = run_chatroomctl("--version", as_unprivileged=True)
    except (OSError, AssertionError) as error:
        return f"cannot run chatroomctl as uid {UNPRIVILEGED}: {error}"
    if result.returncode != 0:
        return f"uid {UNPRIVILEGED} cannot run {chatroomctl_binary()}: {result.stderr.strip()}"
    return None


def actor_logged(event, actor):
    """A log line with chat_event=<event> and chat_by=<actor>, in either order."""
    return re.compile(rf"^(?=.*\bchat_event={re.escape(event)}\b)(?=.*\bchat_by={re.escape(actor)}(\s|$))")


class ControlTestCase(DaemonTestCase):
    """A daemon with a control socket in a fresh temporary directory (mode 0755, so an
    unprivileged user can reach the socket whenever the socket's own mode lets it)."""

    extra_daemon_args = ()

    def setUp(self):
        self.directory = tempfile.mkdtemp(prefix="chatroomctl-test-")
        os.chmod(self.directory, 0o755)
        self.addCleanup(shutil.rmtree, self.directory, ignore_errors=True)
        self.socket_path = os.path.join(self.directory, "control")
        self.daemon_args = tuple(self.extra_daemon_args) + tuple(self.more_daemon_args()) + (
            "--control-socket", self.socket_path)
        super().setUp()
        # "listening on" (which start() waits for) is logged before the control socket opens.
        self.daemon.wait_for_log(r"chat_event=control-listen")
        self.actor = f"chatroomctl:{current_user()}"

    def more_daemon_args(self):
        return ()

    def ctl(self, *args, expect=0, **kwargs):
        """Runs `chatroomctl --socket <ours> args...`; asserts the exit status."""
        result = run_chatroomctl("--socket", self.socket_path, *args, **kwargs)
        self.assertEqual(result.returncode, expect,
                         f"chatroomctl {' '.join(args)} exited {result.returncode}, expected {expect}; "
                         f"stdout {result.stdout!r}, stderr {result.stderr!r}")
        return result

    def ctl_json(self, *args, expect=0):
        result = self.ctl("--json", *args, expect=expect)
        return json.loads(result.stdout)

    def assertClosed(self, client):
        self.assertIsNone(client.recv(), "expected the server to close the connection")

    def barrier(self, sender, nick, receivers, text="barrier"):
        """`sender` says `text`; each receiver's very next frame must be it (so nothing
        else was sent to them before it)."""
        sender.send(text)
        for receiver in receivers:
            self.assertEqual(receiver.recv(), f"{nick}: {text}")

    def room(self, *nicks):
        """An admin and members, every join notice consumed; returns (admin, {nick: client})."""
        admin = self.join_admin()
        members = {}
        for index, nick in enumerate(nicks):
            client = self.join(nick, source=f"127.0.0.{index + 2}")
            for other in [admin, *members.values()]:
                self.assertEqual(other.recv(), f"{nick} has joined the chat!")
            members[nick] = client
        return admin, members

    def rejoin(self, nick, source, observers):
        client = self.join(nick, source=source)
        for other in observers:
            self.assertEqual(other.recv(), f"{nick} has joined the chat!")
        return client


class QueryTests(ControlTestCase):

    def test_who_plain_and_json(self):
        self.assertEqual(self.ctl("who").stdout, "No members online.\n")
        admin, members = self.room("alice", "bob")
        plain = self.ctl("who").stdout.splitlines()
        self.assertEqual(len(plain), 3, plain)
        self.assertRegex(plain[0], r"^admin \[admin\]  127\.0\.0\.1:\d+$")
        self.assertRegex(plain[1], r"^alice  127\.0\.0\.2:\d+$")
        self.assertRegex(plain[2], r"^bob  127\.0\.0\.3:\d+$")

        # --json before or after the subcommand; the socket from $CHATROOMD_CONTROL_SOCKET.
        for args in (["--json", "who"], ["who", "--json"]):
            result = run_chatroomctl(*args, env={"CHATROOMD_CONTROL_SOCKET": self.socket_path})
            self.assertEqual(result.returncode, 0, result.stderr)
            reply = json.loads(result.stdout)
            self.assertIs(reply["ok"], True)
            self.assertEqual([(m["nick"], m["admin"], m["muted"]) for m in reply["members"]],
                             [("admin", True, False), ("alice", False, False), ("bob", False, False)])
            self.assertEqual(reply["members"][2]["peer"], f"127.0.0.3:{members['bob'].sock.getsockname()[1]}")
        # Queries tell the room nothing.
        self.barrier(members["alice"], "alice", [admin, members["alice"], members["bob"]])

    def test_stats_json(self):
        admin, members = self.room("alice")
        members["alice"].send("one")
        self.assertEqual(admin.recv(), "alice: one")
        self.assertEqual(members["alice"].recv(), "alice: one")
        stats = self.ctl_json("stats")
        self.assertIs(stats["ok"], True)
        self.assertEqual(stats["members"], 2)
        self.assertGreaterEqual(stats["connections"], 2)
        self.assertEqual(stats["messages_relayed"], 1)
        self.assertEqual((stats["bans"], stats["mutes"], stats["slowmode_seconds"]), (0, 0, 0))
        self.assertGreaterEqual(stats["uptime_seconds"], 0)
        plain = self.ctl("stats").stdout
        self.assertIn("members: 2\n", plain)

    def test_reload_applies_the_configuration_file(self):
        config = os.path.join(self.directory, "chatroomd.conf")
        admin, members = self.room("alice")
        with open(config, "w") as file:
            file.write("slowmode = 7\n")
        self.assertEqual(self.ctl("reload").stdout, "configuration reloaded; changed: slowmode\n")
        for client in (admin, members["alice"]):
            self.assertEqual(client.recv(), "Slowmode is on: one message every 7s per member.")
        self.daemon.wait_for_log(r"chat_event=reload\b")

        with open(config, "w") as file:
            file.write("no-such-key = 1\n")
        failed = self.ctl("reload", expect=1)
        self.assertRegex(failed.stderr, r"^error: reload failed, keeping the running configuration: .*no-such-key")
        reply = self.ctl_json("reload", expect=1)
        self.assertIs(reply["ok"], False)
        self.assertEqual(self.ctl_json("stats")["slowmode_seconds"], 7)

    def more_daemon_args(self):
        if self._testMethodName == "test_reload_applies_the_configuration_file":
            with open(os.path.join(self.directory, "chatroomd.conf"), "w") as file:
                file.write("slowmode = off\n")
            return ("--config", os.path.join(self.directory, "chatroomd.conf"))
        return ()


class ModerationTests(ControlTestCase):

    def test_say_reaches_members_as_a_server_notice(self):
        admin, members = self.room("alice", "bob")
        everyone = [admin, members["alice"], members["bob"]]
        admin.send("/say maintenance at  5 pm")
        by_admin = [client.recv() for client in everyone]
        result = self.ctl("say", "maintenance", "at  5", "pm")
        self.assertEqual(result.stdout, "Said to 3 member(s).\n")
        self.assertEqual([client.recv() for client in everyone], by_admin)
        self.assertEqual(by_admin, ["[server] maintenance at  5 pm"] * 3)
        self.daemon.wait_for_log(actor_logged("say", self.actor))

    def test_kick_acts_like_the_admins_kick(self):
        admin, members = self.room("carol", "bob")
        carol, bob = members["carol"], members["bob"]
        admin.send("/kick bob too loud")
        by_admin = (bob.recv(), carol.recv(), admin.recv())
        self.assertClosed(bob)

        bob = self.rejoin("bob", "127.0.0.3", [admin, carol])
        self.assertEqual(self.ctl("kick", "bob", "too", "loud").stdout, "Kicked bob.\n")
        self.assertEqual((bob.recv(), carol.recv(), admin.recv()), by_admin)
        self.assertClosed(bob)
        self.assertEqual(by_admin, ("You have been kicked by an admin. Reason: too loud",
                                    "bob has been kicked from the server. Reason: too loud",
                                    "bob has been kicked from the server. Reason: too loud"))
        self.daemon.wait_for_log(actor_logged("kick", self.actor))
        self.barrier(carol, "carol", [admin, carol])

    def test_ban_unban_and_bans(self):
        admin, members = self.room("carol", "mallory")
        carol, mallory = members["carol"], members["mallory"]
        admin.send("/ban mallory 10m spam")
        by_admin = (mallory.recv(), carol.recv(), admin.recv())
        self.assertClosed(mallory)
        admin.send("/unban mallory")
        unban_by_admin = (carol.recv(), admin.recv())
        self.assertEqual(unban_by_admin, ("The ban on mallory has been lifted by admin.",) * 2)

        mallory = self.rejoin("mallory", "127.0.0.3", [admin, carol])
        self.assertEqual(self.ctl("ban", "mallory", "10m", "spam").stdout,
                         "Banned mallory (127.0.0.3) for 10m; disconnected mallory.\n")
        self.assertEqual((mallory.recv(), carol.recv(), admin.recv()), by_admin)
        self.assertClosed(mallory)
        self.assertEqual(by_admin[0], "You have been banned by an admin for 10m. Reason: spam")
        self.daemon.wait_for_log(actor_logged("ban", self.actor))

        # A timed ban, by address, listed with the time left.
        self.assertEqual(self.ctl("ban", "127.0.0.9", "1h", "spamming").stdout, "Banned 127.0.0.9 for 1h.\n")
        bans = self.ctl_json("bans")
        self.assertIs(bans["ok"], True)
        by_target = {entry["target"]: entry for entry in bans["sanctions"]}
        self.assertEqual(set(by_target), {"127.0.0.3", "127.0.0.9"})
        entry = by_target["127.0.0.9"]
        self.assertEqual((entry["kind"], entry["set_by"], entry["reason"]), ("ban", self.actor, "spamming"))
        self.assertTrue(3500 < entry["seconds_left"] <= 3600, entry)
        self.assertEqual(by_target["127.0.0.3"]["nick"], "mallory")
        plain = self.ctl("bans").stdout
        self.assertIn(f"  127.0.0.9 by {self.actor}, ", plain)

        # Refused while banned; lifted by nick, announced with the actor; back in.
        refused = self.connect(source="127.0.0.3")
        self.assertEqual(refused.recv(), "You are banned from this server.")
        self.assertEqual(self.ctl("unban", "mallory").stdout, "Lifted 1 ban(s).\n")
        self.assertEqual((carol.recv(), admin.recv()),
                         (f"The ban on mallory has been lifted by {self.actor}.",) * 2)
        self.daemon.wait_for_log(actor_logged("unban", self.actor))
        self.rejoin("mallory", "127.0.0.3", [admin, carol])

        # Nothing to lift is an error: exit 1, error: on stderr, ok false in JSON.
        self.assertEqual(self.ctl("unban", "127.0.0.77", expect=1).stderr, "error: No ban matches 127.0.0.77.\n")
        self.assertIs(self.ctl_json("unban", "127.0.0.77", expect=1)["ok"], False)

    def test_ban_with_purge_flag_after_the_target(self):
        admin, members = self.room("carol", "bob")
        result = self.ctl("ban", "bob", "--purge", "1h")
        self.assertEqual(result.stdout, "Banned bob (127.0.0.3) for 1h; disconnected bob. Purged 0 history line(s).\n")
        self.assertEqual(members["bob"].recv(), "You have been banned by an admin for 1h.")
        self.assertEqual(members["carol"].recv(), "bob has been banned from the server for 1h.")
        self.daemon.wait_for_log(actor_logged("ban", self.actor))

    def test_mute_and_unmute(self):
        admin, members = self.room("carol", "bob")
        carol, bob = members["carol"], members["bob"]
        admin.send("/mute bob 5m shh")
        by_admin = (bob.recv(), carol.recv(), admin.recv())
        admin.send("/unmute bob")
        unmute_by_admin = [client.recv() for client in (bob, carol, admin)]
        self.assertEqual(unmute_by_admin, ["bob has been unmuted by admin."] * 3)

        self.assertEqual(self.ctl("mute", "bob", "5m", "shh").stdout, "Muted bob.\n")
        self.assertEqual((bob.recv(), carol.recv(), admin.recv()), by_admin)
        self.assertEqual(by_admin, ("You have been muted by an admin for 5m. Reason: shh",
                                    "bob has been muted for 5m. Reason: shh",
                                    "bob has been muted for 5m. Reason: shh"))
        self.daemon.wait_for_log(actor_logged("mute", self.actor))
        bob.send("can anyone hear me")
        self.assertRegex(bob.recv(), r"^You are muted for (5m|4m \d+s)\.$")
        self.barrier(carol, "carol", [admin, carol, bob])  # nothing of bob's got through
        self.assertIn(("bob", True), [(m["nick"], m["muted"]) for m in self.ctl_json("who")["members"]])

        self.assertEqual(self.ctl("unmute", "bob").stdout, "Unmuted bob.\n")
        self.assertEqual([client.recv() for client in (bob, carol, admin)],
                         [f"bob has been unmuted by {self.actor}."] * 3)
        self.daemon.wait_for_log(actor_logged("unmute", self.actor))
        self.barrier(bob, "bob", [admin, carol, bob], text="back")
        self.assertEqual(self.ctl("unmute", "bob", expect=1).stderr, "error: bob is not muted.\n")

    def test_slowmode(self):
        admin, members = self.room("carol")
        carol = members["carol"]
        admin.send("/slowmode 5")
        by_admin = (carol.recv(), admin.recv())
        admin.send("/slowmode off")
        self.assertEqual((carol.recv(), admin.recv()), ("Slowmode is off.",) * 2)

        self.assertEqual(self.ctl("slowmode", "5").stdout, "Slowmode is on (5 s).\n")
        self.assertEqual((carol.recv(), admin.recv()), by_admin)
        self.assertEqual(by_admin, ("Slowmode is on: one message every 5s per member.",) * 2)
        self.daemon.wait_for_log(actor_logged("slowmode", self.actor))
        self.barrier(carol, "carol", [admin, carol], text="first")
        carol.send("second")
        self.assertRegex(carol.recv(), r"^Slowmode is on: you may send your next message in [1-5]s\.$")

        self.assertEqual(self.ctl("slowmode", "off").stdout, "Slowmode is off.\n")
        self.assertEqual((carol.recv(), admin.recv()), ("Slowmode is off.",) * 2)
        self.assertRegex(self.ctl("slowmode", "forever", expect=1).stderr, r"^error: Usage: /slowmode")

    def test_errors_exit_1(self):
        plain = self.ctl("kick", "ghost", expect=1)
        self.assertEqual((plain.stdout, plain.stderr), ("", "error: No member is called ghost.\n"))
        reply = self.ctl_json("mute", "ghost", expect=1)
        self.assertEqual(reply, {"ok": False, "error": "No member is called ghost.",
                                 "messages": ["No member is called ghost."]})
        self.assertEqual(self.ctl("ban", "not-an-address", expect=1).stderr,
                         "error: not-an-address is neither a member's nickname nor an IP address or CIDR range.\n")
        # Usage errors never reach the daemon.
        self.assertEqual(self.ctl("kick", expect=64).stdout, "")
        self.assertEqual(self.ctl("say", expect=64).stdout, "")


class AccessTests(ControlTestCase):
    """Who may use the socket: the file mode keeps others out, and behind it the daemon
    checks SO_PEERCRED."""

    def setUp(self):
        reason = unprivileged_runs_chatroomctl()
        if reason:
            self.skipTest(reason)
        super().setUp()

    def more_daemon_args(self):
        if self._testMethodName == "test_control_group_member_may_use_it":
            return ("--control-group", grp.getgrgid(UNPRIVILEGED).gr_name)
        return ()

    def test_socket_mode_keeps_other_users_out(self):
        self.assertEqual(stat.S_IMODE(os.stat(self.socket_path).st_mode), 0o600)
        result = self.ctl("who", as_unprivileged=True, expect=77)
        self.assertIn(self.socket_path, result.stderr)
        self.assertIn("permission denied", result.stderr)
        self.assertEqual(result.stdout, "")

    def test_daemon_refuses_a_peer_it_does_not_trust(self):
        # Let the connection through the file mode, so the daemon's own check decides.
        os.chmod(self.socket_path, 0o666)
        admin, members = self.room("alice")
        result = self.ctl("kick", "alice", as_unprivileged=True, expect=77)
        self.assertIn("error: permission denied", result.stderr)
        self.assertEqual(result.stdout, "")
        self.daemon.wait_for_log(rf"chat_event=control-refused\b.*uid {UNPRIVILEGED}\b|uid {UNPRIVILEGED}\b.*chat_event=control-refused")
        self.barrier(members["alice"], "alice", [admin, members["alice"]], text="still here")

    def test_control_group_member_may_use_it(self):
        group = grp.getgrgid(UNPRIVILEGED)
        info = os.stat(self.socket_path)
        self.assertEqual((stat.S_IMODE(info.st_mode), info.st_gid), (0o660, group.gr_gid))
        admin, members = self.room("alice")
        self.assertEqual(self.ctl("say", "hi", as_unprivileged=True).stdout, "Said to 2 member(s).\n")
        self.assertEqual(members["alice"].recv(), "[server] hi")
        self.daemon.wait_for_log(actor_logged("say", f"chatroomctl:{pwd.getpwuid(UNPRIVILEGED).pw_name}"))


class UnreachableTests(unittest.TestCase):
    """No daemon, or something at the path that is not one: 69 (76 for gibberish)."""

    def setUp(self):
        self.directory = tempfile.mkdtemp(prefix="chatroomctl-test-")
        self.addCleanup(shutil.rmtree, self.directory, ignore_errors=True)
        self.path = os.path.join(self.directory, "control")

    def assertUnavailable(self, result):
        self.assertEqual(result.returncode, 69, result)
        self.assertEqual(len(result.stderr.splitlines()), 1, result.stderr)
        self.assertIn(self.path, result.stderr)
        self.assertIn("systemctl status chatroomd", result.stderr)
        self.assertEqual(result.stdout, "")

    def test_missing_socket(self):
        self.assertUnavailable(run_chatroomctl("--socket", self.path, "who"))
        self.assertUnavailable(run_chatroomctl("stats", env={"CHATROOMD_CONTROL_SOCKET": self.path}))

    def test_nothing_listening(self):
        stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.addCleanup(stale.close)
        stale.bind(self.path)  # bound, never listening: what a crashed daemon leaves
        self.assertUnavailable(run_chatroomctl("--socket", self.path, "who"))

    def serve_once(self, reply):
        """A listener that reads one request, answers `reply` bytes and closes; returns
        the request it read (after the test's chatroomctl has finished)."""
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.addCleanup(listener.close)
        listener.bind(self.path)
        listener.listen(1)
        listener.settimeout(CTL_DEADLINE)
        received = []

        def serve():
            connection, _ = listener.accept()
            with connection:
                connection.settimeout(CTL_DEADLINE)
                data = b""
                while len(data) < 64 or len(data) < 64 + int(data[:64]):
                    chunk = connection.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                received.append(data)
                connection.sendall(reply)

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        self.addCleanup(thread.join, CTL_DEADLINE)
        return received, thread

    def test_request_framing_and_close_without_reply(self):
        received, thread = self.serve_once(b"")
        result = run_chatroomctl("--socket", self.path, "--json", "ban", "bob", "--purge", "1h", "too", "much")
        thread.join(CTL_DEADLINE)
        payload = b"--json ban bob --purge 1h too much"
        self.assertEqual(received, [encode_header(len(payload)) + payload])
        self.assertUnavailable(result)
        self.assertIn("without replying", result.stderr)

    def test_gibberish_reply(self):
        self.serve_once(b"HTTP/1.1 400 Bad Request\r\n\r\n" + b" " * 64)
        result = run_chatroomctl("--socket", self.path, "who")
        self.assertEqual(result.returncode, 76, result)
        self.assertIn("not a chatroomd reply", result.stderr)


if __name__ == "__main__":
    unittest.main()
