"""`chatroom --tls` on a terminal (a tmux pane): verification against --ca-file, trust on
first use of a self-signed certificate, the loud refusal of a changed one, --insecure,
and the plaintext password warning.

Each test gives the client its own $XDG_CONFIG_HOME, so the remembered fingerprints
(known_servers) start empty. Every wait polls the screen or a socket against a deadline.
"""

import os
import shlex
import shutil
import signal
import tempfile

from chat_test_support import ChatAssertions
from chatroomd_fixture import chatroom_binary
from test_terminal_tmux import PROMPT, TmuxPane
from tls_test_support import TLSDaemonTestCase, fingerprint, make_certificate


class ClientTLSTests(ChatAssertions, TLSDaemonTestCase):

    def setUp(self):
        super().setUp()
        config = tempfile.TemporaryDirectory(prefix="chatroom-config-")
        self.addCleanup(config.cleanup)
        self.config_home = config.name
        self.known_servers = os.path.join(self.config_home, "chatroom", "known_servers")

    def client(self, nick, options, address=None):
        address = address or f"--host tls://127.0.0.1:{self.tls_port}"
        command = (f"env XDG_CONFIG_HOME={shlex.quote(self.config_home)} {shlex.quote(chatroom_binary())} "
                   f"{address} --nick {shlex.quote(nick)} --no-timestamps {options}; echo EXIT=$?; sleep 60")
        return TmuxPane(self, command)

    def joined(self, pane, nick):
        return pane.wait_for(lambda lines: f"{nick} has joined the chat!" in lines and lines[-1] == PROMPT.rstrip(),
                             f"{nick}'s join and the prompt")

    def quit(self, pane):
        pane.type("/quit")
        pane.press("Enter")
        return pane.wait_for(lambda lines: "EXIT=0" in lines, "the client's exit")

    def test_a_certificate_from_the_ca_file_is_verified_without_questions(self):
        bob = self.join("bob")
        pane = self.client("alice", f"--ca-file {shlex.quote(self.certificate)}")
        screen = self.joined(pane, "alice")
        self.assertFalse(any("fingerprint" in line or "WARNING" in line for line in screen), screen)
        self.assertFalse(os.path.exists(self.known_servers), "a verified server was remembered")
        self.assertEqual(bob.recv(), "alice has joined the chat!")
        pane.type("hello from TLS")
        pane.press("Enter")
        self.assertEqual(bob.recv(), "alice: hello from TLS")
        bob.send("hello from plaintext")
        pane.wait_for_line("bob: hello from plaintext")
        self.quit(pane)

    def test_a_ca_file_that_does_not_vouch_for_the_server_falls_back_to_first_use(self):
        other_certificate, other_key = make_certificate(self.temporary_directory(), name="other", common_name="elsewhere")
        # A CA file that does not hold the server's certificate: no CA vouches, so first use.
        pane = self.client("alice", f"--ca-file {shlex.quote(other_certificate)}")
        screen = self.joined(pane, "alice")
        self.assertTrue(any("first connection" in line for line in screen), screen)

    def test_first_use_is_remembered_and_a_changed_certificate_is_refused_loudly(self):
        expected = fingerprint(self.certificate)
        pane = self.client("alice", "--tls", address=f"--host 127.0.0.1 --port {self.tls_port}")
        screen = self.joined(pane, "alice")
        text = "\n".join(screen)
        self.assertIn("not signed by a CA", text)
        self.assertIn(f"SHA256:{expected}", text)
        with open(self.known_servers) as file:
            self.assertEqual(file.read(), f"127.0.0.1:{self.tls_port} {expected}\n")
        self.quit(pane)

        # Second time: the same certificate, nothing to say.
        pane = self.client("alice", "")
        screen = self.joined(pane, "alice")
        self.assertFalse(any("first connection" in line for line in screen), screen)
        self.quit(pane)

        # The server's pair is replaced (reload); the client refuses it and says so loudly.
        new_certificate, new_key = make_certificate(self.temporary_directory(), name="new")
        shutil.copy(new_certificate, self.certificate)
        shutil.copy(new_key, self.key)
        mark = len(self.daemon.stderr_lines)
        self.daemon.send_signal(signal.SIGHUP)
        self.daemon.wait_for_log(r"TLS certificate reloaded", after=mark)
        pane = self.client("alice", "")
        screen = pane.wait_for(lambda lines: any(line.startswith("EXIT=") for line in lines), "the client's exit")
        text = "\n".join(screen)
        self.assertIn("WARNING: THE SERVER'S CERTIFICATE HAS CHANGED", text)
        self.assertIn(f"remembered: SHA256:{expected}", text)
        self.assertIn(f"presented:  SHA256:{fingerprint(new_certificate)}", text)
        self.assertIn("EXIT=69", screen)
        self.assertFalse(any("has joined" in line for line in screen), screen)

    def test_insecure_connects_and_says_what_it_skipped(self):
        pane = self.client("alice", "--insecure")
        screen = self.joined(pane, "alice")
        self.assertTrue(any("WARNING: --insecure" in line and "NOT checked" in line for line in "\n".join(screen).split("\n")), screen)
        self.assertFalse(os.path.exists(self.known_servers))

    def test_the_admin_password_prompt_warns_over_plaintext_only(self):
        command = (f"{shlex.quote(chatroom_binary())} --port {self.port} --nick admin --no-timestamps; "
                   "echo EXIT=$?; sleep 60")
        plain = TmuxPane(self, command)
        screen = plain.wait_for(lambda lines: any("Password for admin:" in line for line in lines), "the password prompt")
        self.assertTrue(any("not encrypted" in line and "in the clear" in line for line in screen), screen)
        secure = self.client("admin", f"--ca-file {shlex.quote(self.certificate)}")
        screen = secure.wait_for(lambda lines: any("Password for admin:" in line for line in lines), "the password prompt")
        self.assertFalse(any("not encrypted" in line for line in screen), screen)
        secure.type("correct horse battery staple")
        secure.press("Enter")
        secure.wait_for_line("An admin has joined the chat!")

    def test_a_restart_in_place_makes_the_tls_client_reconnect_by_itself(self):
        bob = self.join("bob")
        pane = self.client("alice", f"--ca-file {shlex.quote(self.certificate)}")
        self.joined(pane, "alice")
        self.assertEqual(bob.recv(), "alice has joined the chat!")
        mark = len(self.daemon.stderr_lines)
        os.kill(self.daemon.process.pid, signal.SIGUSR2)
        self.daemon.wait_for_log(r"chat_event=handover-restored", timeout=20, after=mark)
        pane.wait_for(lambda lines: any("server restarting, reconnecting" in line for line in lines), "the reconnect notice")
        bob.recv_until("alice has joined the chat!")
        pane.type("after the restart")
        pane.press("Enter")
        bob.recv_until("alice: after the restart")
