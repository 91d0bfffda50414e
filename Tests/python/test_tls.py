"""TLS listeners: interop with Python's ssl module and `openssl s_client`, a TLS member and a
plaintext seed client in one room, moderation and admin logins over TLS, certificate
reloads, require-tls-for-login, and bad input on the TLS port (plaintext, garbage, a TLS 1.0
ClientHello, a handshake that stalls) with the handshake caps.

Certificates are made at test time (tls_test_support.make_certificate). Nothing sleeps to
synchronise: tests wait for frames or log lines with deadlines; the one paced loop is the
stalling attacker itself, bounded in count and time.
"""

import os
import select
import shutil
import signal
import socket
import ssl
import subprocess
import time
import unittest

from chat_test_support import ChatAssertions, SHA512_HASH, SHA512_PASSWORD, run_chatroomd
from chatroomd_fixture import ADMIN_PASSWORD
from original_client import encode_header
from tls_test_support import TLSClient, TLSDaemonTestCase, fingerprint, make_certificate

# A ClientHello that offers only TLS 1.0 (no supported_versions extension), by hand: the
# client's own OpenSSL may refuse to send one at all.
TLS10_CLIENT_HELLO = (
    bytes.fromhex("160301002d")                       # record: handshake, TLS 1.0, 45 bytes
    + bytes.fromhex("01000029" "0301") + bytes(32)    # ClientHello, 41 bytes, version 3.1, random
    + bytes.fromhex("00" "0002002f" "0100")           # no session id, one suite, no compression
)


def frame(text):
    payload = text.encode("utf-8")
    return encode_header(len(payload)) + payload


class SClient:
    """`openssl s_client` as a chat client: frames in on stdin, frames out of stdout."""

    def __init__(self, port, cafile):
        self.process = subprocess.Popen(
            ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-quiet", "-CAfile", cafile,
             "-verify_return_error", "-servername", "localhost"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.buffer = b""

    def send(self, text):
        self.process.stdin.write(frame(text))
        self.process.stdin.flush()

    def recv(self, timeout=5.0):
        deadline = time.monotonic() + timeout
        while True:
            if len(self.buffer) >= 64:
                length = int(self.buffer[:64].decode())
                if len(self.buffer) >= 64 + length:
                    text = self.buffer[64:64 + length].decode()
                    self.buffer = self.buffer[64 + length:]
                    return text
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"s_client: no frame within {timeout} s (buffer {self.buffer!r})")
            ready, _, _ = select.select([self.process.stdout], [], [], remaining)
            if ready:
                chunk = os.read(self.process.stdout.fileno(), 65536)
                if not chunk:
                    return None
                self.buffer += chunk

    def close(self):
        if self.process.poll() is None:
            self.process.stdin.close()
            self.process.terminate()
        self.process.wait(timeout=10)
        self.process.stdout.close()


class TLSChatTests(ChatAssertions, TLSDaemonTestCase):
    tls_args = ("--admin", f"root {SHA512_HASH}")

    def test_join_and_chat_over_tls_1_3_and_1_2(self):
        alice = self.join_tls("alice", maximum=ssl.TLSVersion.TLSv1_3, minimum=ssl.TLSVersion.TLSv1_3)
        self.assertEqual(alice.sock.version(), "TLSv1.3")
        bob = self.join_tls("bob", source="127.0.0.2", maximum=ssl.TLSVersion.TLSv1_2)
        self.assertEqual(bob.sock.version(), "TLSv1.2")
        self.expect(alice, "bob has joined the chat!")
        self.assertEqual(alice.peer_fingerprint, fingerprint(self.certificate))
        alice.send("hello over TLS")
        for client in (alice, bob):
            self.expect(client, "alice: hello over TLS")
        # A line longer than one record (16 KiB) arrives whole.
        long_line = "x" * 40000
        bob.send(long_line)
        for client in (alice, bob):
            self.expect(client, f"bob: {long_line}")
        bob.disconnect()
        self.expect(alice, "[CLIENT DISCONNECT - bob]")

    def test_openssl_s_client_interop(self):
        member = self.join("plain")
        client = SClient(self.tls_port, self.certificate)
        self.addCleanup(client.close)
        client.send("NICK:sclient")
        self.assertEqual(client.recv(), "Connected to the server")
        self.assertEqual(client.recv(), "sclient has joined the chat!")
        self.expect(member, "sclient has joined the chat!")
        client.send("hi from s_client")
        self.assertEqual(client.recv(), "sclient: hi from s_client")
        self.expect(member, "sclient: hi from s_client")
        member.send("hi back")
        self.assertEqual(client.recv(), "plain: hi back")

    def test_tls_member_and_seed_client_see_the_same_lines_in_the_same_order(self):
        secure = self.join_tls("secure")
        plain = self.join("plain", source="127.0.0.2")
        self.expect(secure, "plain has joined the chat!")
        speaker_tls = self.join_tls("speaker1", source="127.0.0.3")
        speaker_plain = self.join("speaker2", source="127.0.0.4")
        for client in (secure, plain):
            client.recv_until("speaker2 has joined the chat!")
        speaker_tls.recv_until("speaker2 has joined the chat!")
        sent = []
        for i in range(200):
            speaker = speaker_tls if i % 3 else speaker_plain
            speaker.send(f"line {i}")
            sent.append(f"{'speaker1' if i % 3 else 'speaker2'}: line {i}")
        seen_secure = secure.recv_n(len(sent), timeout=20)
        seen_plain = plain.recv_n(len(sent), timeout=20)
        self.assertEqual(seen_secure, seen_plain)
        self.assertEqual(sorted(seen_secure), sorted(sent))
        # Each speaker's own lines keep their order.
        for name in ("speaker1", "speaker2"):
            mine = [line for line in sent if line.startswith(name)]
            self.assertEqual([line for line in seen_secure if line.startswith(name)], mine)

    def test_admin_login_kick_and_ban_over_tls(self):
        admin = self.join_admin_tls()
        alice = self.join_tls("alice", source="127.0.0.2")
        bob = self.join_tls("bob", source="127.0.0.3")
        admin.recv_until("bob has joined the chat!")
        alice.recv_until("bob has joined the chat!")
        alice.send(f"/login root {SHA512_PASSWORD}")
        self.expect(alice, "You are now an admin (account root).")
        bob.recv_until("alice is now an admin.")
        admin.send("/kick bob spamming")
        self.expect(bob, "You have been kicked by an admin. Reason: spamming")
        self.assertClosed(bob, after="the kick notice")
        self.expect(admin, "alice is now an admin.", "bob has been kicked from the server. Reason: spamming")
        bob = self.join_tls("bob", source="127.0.0.3")
        admin.recv_until("bob has joined the chat!")
        admin.send("/ban bob 10m rude")
        self.expect(bob, "You have been banned by an admin for 10m. Reason: rude")
        self.assertClosed(bob)
        # A banned address is dropped before its handshake ends: nothing can be said to it
        # before then, and a handshake is what a ban saves the server.
        with self.assertRaises((ssl.SSLError, ConnectionError, OSError)):
            refused = TLSClient.connect_tls(self.tls_port, self.certificate, source="127.0.0.3")
            self.addCleanup(refused.close)
            if refused.recv() is not None:
                raise AssertionError("a banned address was served")
            raise ConnectionError("closed")
        self.daemon.wait_for_log(r"chat_event=banned-connection-refused")

    def test_certificate_reload_keeps_members_and_serves_the_new_pair(self):
        alice = self.join_tls("alice")
        old = fingerprint(self.certificate)
        # A renewal: a new pair (RSA this time) written over the configured files.
        directory = self.temporary_directory()
        new_certificate, new_key = make_certificate(directory, kind="rsa")
        shutil.copy(new_certificate, self.certificate)
        shutil.copy(new_key, self.key)
        mark = len(self.daemon.stderr_lines)
        self.daemon.send_signal(signal.SIGHUP)
        self.daemon.wait_for_log(r"TLS certificate reloaded", after=mark)
        alice.send("still here")
        self.expect(alice, "alice: still here")
        bob = self.join_tls("bob", source="127.0.0.2")
        self.assertEqual(bob.peer_fingerprint, fingerprint(new_certificate))
        self.assertNotEqual(bob.peer_fingerprint, old)
        self.expect(alice, "bob has joined the chat!")
        # A broken pair: the certificate with a key that does not match. The reload fails
        # with a clear line and the running pair stays.
        other_certificate, other_key = make_certificate(directory, name="other")
        shutil.copy(other_key, self.key)
        mark = len(self.daemon.stderr_lines)
        self.daemon.send_signal(signal.SIGHUP)
        self.daemon.wait_for_log(r"reload failed, keeping the running configuration: TLS: .*keeping the running certificate",
                                 after=mark)
        carol = self.join_tls("carol", source="127.0.0.3")
        self.assertEqual(carol.peer_fingerprint, fingerprint(new_certificate))
        alice.send("after the failed reload")
        self.expect(alice, "bob: " if False else "carol has joined the chat!", "alice: after the failed reload")


    def test_a_restart_in_place_tells_tls_members_and_serves_tls_again(self):
        plain = self.join("plain")
        secure = self.join_tls("secure", source="127.0.0.2")
        self.expect(plain, "secure has joined the chat!")
        mark = len(self.daemon.stderr_lines)
        os.kill(self.daemon.process.pid, signal.SIGUSR2)
        self.expect(secure, "Server is restarting; TLS connections cannot be handed over, so reconnect in a moment.")
        self.assertClosed(secure)
        self.daemon.wait_for_log(r"chat_event=tls-restart", after=mark)
        self.daemon.wait_for_log(r"chat_event=handover-restored", timeout=20, after=mark)
        self.daemon.wait_for_log(r"listening on 127\.0\.0\.1:\d+ \(TLS\) \(from the previous process\)", after=mark)
        self.assertIsNone(self.daemon.process.poll(), "the same process carries on")
        # The plaintext member stayed; the TLS member comes back on the same port.
        plain.recv_until(lambda text: "secure" in text)
        again = self.join_tls("secure", source="127.0.0.2")
        plain.recv_until("secure has joined the chat!")
        again.send("back")
        self.expect(again, "secure: back")
        plain.recv_until("secure: back")


class HandshakesInFlightTests(ChatAssertions, TLSDaemonTestCase):
    tls_args = ("--tls-handshakes-in-flight", "4")

    def test_handshakes_in_progress_are_capped_in_all(self):
        held = []
        for k in range(4):
            sock = socket.create_connection(("127.0.0.1", self.tls_port), timeout=10, source_address=(f"127.0.1.{k + 1}", 0))
            self.addCleanup(sock.close)
            sock.sendall(b"\x16\x03\x01")  # a handshake begun, never finished
            held.append(sock)
        member = self.join("member")  # a barrier: the four were accepted before this
        mark = len(self.daemon.stderr_lines)
        extra = socket.create_connection(("127.0.0.1", self.tls_port), timeout=10, source_address=("127.0.1.9", 0))
        self.addCleanup(extra.close)
        extra.settimeout(3)
        try:
            self.assertEqual(extra.recv(100), b"", "the fifth handshake was not refused")
        except ConnectionResetError:
            pass
        self.daemon.wait_for_log(r"refused 127\.0\.1\.9:\d+: too many TLS handshakes in progress", after=mark)
        # Once one of them goes, a new handshake is admitted again.
        held[0].close()
        member.send("/who")  # a barrier: the close was handled before this answer
        self.expect(member, "1 member: member")
        self.join_tls("late", source="127.0.1.10")


class CheckConfigTests(ChatAssertions, unittest.TestCase):

    def test_check_config_loads_the_pair(self):
        directory = self.temporary_directory()
        certificate, key = make_certificate(directory)
        _, other_key = make_certificate(directory, name="other", kind="rsa")
        ok = run_chatroomd("check-config", "--listen-tls", "127.0.0.1:0", "--tls-certificate", certificate, "--tls-key", key)
        self.assertEqual(ok.returncode, 0, ok.stderr)
        mismatched = run_chatroomd("check-config", "--listen-tls", "127.0.0.1:0", "--tls-certificate", certificate,
                                   "--tls-key", other_key)
        self.assertEqual(mismatched.returncode, 78)
        self.assertIn("the key does not match the certificate", mismatched.stderr)
        # Without a pair, the credentials are expected inside the service: not checked here.
        missing = run_chatroomd("check-config", "--listen-tls", "127.0.0.1:0")
        self.assertEqual(missing.returncode, 0, missing.stderr)


class RecordCountingClient:
    """A TLS client over memory BIOs that reads the socket itself, so it sees where each
    TLS record begins and ends (5-byte record headers) before OpenSSL decrypts them."""

    def __init__(self, port, cafile, source):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0))
        context = ssl.create_default_context(cafile=cafile)
        self.incoming, self.outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.tls = context.wrap_bio(self.incoming, self.outgoing, server_hostname="localhost")
        self.raw = b""
        self.records = 0
        self.plain = b""
        deadline = time.monotonic() + 10
        while True:
            try:
                self.tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                self._pump(deadline)
        self._flush()

    def close(self):
        self.sock.close()

    def _flush(self):
        data = self.outgoing.read()
        if data:
            self.sock.sendall(data)

    def _pump(self, deadline):
        self._flush()
        self.sock.settimeout(max(deadline - time.monotonic(), 0.01))
        chunk = self.sock.recv(65536)
        if not chunk:
            raise AssertionError("the server closed the connection")
        self.raw += chunk
        # Whole records only, counted as they pass.
        while len(self.raw) >= 5:
            length = int.from_bytes(self.raw[3:5], "big")
            if len(self.raw) < 5 + length:
                break
            self.records += 1
            self.incoming.write(self.raw[:5 + length])
            self.raw = self.raw[5 + length:]

    def send(self, text):
        self.tls.write(frame(text))
        self._flush()

    def recv(self, timeout=10):
        deadline = time.monotonic() + timeout
        while True:
            if len(self.plain) >= 64:
                length = int(self.plain[:64].decode())
                if len(self.plain) >= 64 + length:
                    text = self.plain[64:64 + length].decode()
                    self.plain = self.plain[64 + length:]
                    return text
            try:
                self.plain += self.tls.read(65536)
                continue
            except ssl.SSLWantReadError:
                pass
            if time.monotonic() >= deadline:
                raise AssertionError("no frame in time")
            self._pump(deadline)


class CoalescingTests(ChatAssertions, TLSDaemonTestCase):

    def test_frames_queued_in_one_turn_leave_in_few_records(self):
        member = RecordCountingClient(self.tls_port, self.certificate, "127.0.0.2")
        self.addCleanup(member.close)
        member.send("NICK:reader")
        self.assertEqual(member.recv(), "Connected to the server")
        self.assertEqual(member.recv(), "reader has joined the chat!")
        speaker = self.join("speaker", source="127.0.0.3")
        self.assertEqual(member.recv(), "speaker has joined the chat!")
        # Fifty lines in one write: the daemon reads them in one turn, so the fifty
        # broadcasts are queued for the reader together.
        lines = [f"line {i:02d} " + "x" * 40 for i in range(50)]
        speaker.sock.sendall(b"".join(frame(line) for line in lines))
        before = member.records
        received = [member.recv() for _ in lines]
        self.assertEqual(received, [f"speaker: {line}" for line in lines])
        records = member.records - before
        # One record a frame would be 50; coalesced, the ~5 KiB fit in one record (a
        # couple more if the turn's reads split the burst).
        self.assertLessEqual(records, 5, f"{records} records for 50 frames")


class RequireTLSForLoginTests(ChatAssertions, TLSDaemonTestCase):
    tls_args = ("--require-tls-for-login", "yes", "--admin", f"root {SHA512_HASH}")

    def test_admin_logins_over_plaintext_are_refused_with_a_reason(self):
        refused = self.connect()
        refused.login_admin(ADMIN_PASSWORD)
        self.expect_match(refused, r"Login refused: this server accepts passwords only over TLS.*")
        self.assertClosed(refused)
        self.daemon.wait_for_log(r"chat_event=admin-login-failed .*not over TLS")
        plain = self.join("plain", source="127.0.0.2")
        plain.send(f"/login root {SHA512_PASSWORD}")
        self.expect_match(plain, r"Login refused: this server accepts passwords only over TLS.*")
        plain.send("/who")
        self.expect(plain, "1 member: plain")
        # Over TLS both work.
        admin = self.join_admin_tls(source="127.0.0.3")
        secure = self.join_tls("secure", source="127.0.0.4")
        secure.send(f"/login root {SHA512_PASSWORD}")
        self.expect(secure, "You are now an admin (account root).")
        admin.send("/who")
        admin.recv_until(lambda text: text.startswith("3 members:"))


class BadInputTests(ChatAssertions, TLSDaemonTestCase):
    tls_args = ("--handshake-timeout", "1", "--tls-handshakes-per-address", "3")

    def raw(self, source):
        sock = socket.create_connection(("127.0.0.1", self.tls_port), timeout=10, source_address=(source, 0))
        self.addCleanup(sock.close)
        return sock

    def assert_closed_within(self, sock, seconds):
        """Reads until EOF or reset; returns the time it took."""
        started = time.monotonic()
        sock.settimeout(seconds)
        try:
            while sock.recv(4096):
                pass
        except ConnectionResetError:
            pass
        except socket.timeout:
            self.fail(f"the connection stayed open for more than {seconds} s")
        return time.monotonic() - started

    def test_plaintext_and_garbage_and_tls_1_0_are_closed_with_one_log_line_each(self):
        member = self.join("member")
        cases = [("127.0.0.2", frame("NICK:plain"), "wrong version number"),
                 ("127.0.0.3", b"\x00" + os.urandom(600), "wrong version number"),
                 ("127.0.0.4", TLS10_CLIENT_HELLO, "unsupported protocol")]
        for source, data, reason in cases:
            mark = len(self.daemon.stderr_lines)
            sock = self.raw(source)
            sock.sendall(data)
            self.assert_closed_within(sock, 3)
            self.daemon.wait_for_log(rf"chat_event=tls-handshake-failed chat_peer={source}:\d+ chat_reason=.*{reason}", after=mark)
            # Exactly one line about that peer.
            member.send("/who")
            self.expect(member, "1 member: member")
            lines = [line for line in self.daemon.stderr_lines[mark:] if f"{source}:" in line]
            self.assertEqual(len(lines), 1, lines)

    def test_a_stalling_handshake_is_closed_by_the_deadline_and_nobody_else_waits(self):
        member = self.join("member")
        secure = self.join_tls("secure", source="127.0.0.5")
        self.expect(member, "secure has joined the chat!")
        mark = len(self.daemon.stderr_lines)
        sock = self.raw("127.0.0.6")
        hello = self.client_hello()
        sock.setblocking(False)
        started = time.monotonic()
        closed = False
        # One byte every 50 ms, at most 200 bytes and 5 s: the deadline (1 s, checked each
        # second) must end it first. Meanwhile the room answers as usual.
        for index in range(min(len(hello), 200)):
            try:
                sock.send(hello[index:index + 1])
                if sock.recv(4096) == b"":
                    closed = True
                    break
            except BlockingIOError:
                pass
            except (ConnectionResetError, BrokenPipeError):
                closed = True
                break
            member.send(f"ping {index}")
            self.expect(member, f"member: ping {index}")
            if time.monotonic() - started > 5:
                break
            time.sleep(0.05)  # the attacker's pace, not synchronisation
        self.assertTrue(closed, "the stalled handshake was not closed")
        self.assertLess(time.monotonic() - started, 3.5)
        self.daemon.wait_for_log(r"chat_event=handshake-timeout chat_peer=127\.0\.0\.6", after=mark)
        lines = [line for line in self.daemon.stderr_lines[mark:] if "127.0.0.6:" in line]
        self.assertEqual(len(lines), 1, lines)
        secure.send("still fast")
        secure.recv_until("secure: still fast")

    def client_hello(self):
        """A real ClientHello from Python's ssl module, captured through memory BIOs."""
        context = ssl.create_default_context()
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = context.wrap_bio(incoming, outgoing, server_hostname="localhost")
        with self.assertRaises(ssl.SSLWantReadError):
            tls.do_handshake()
        return outgoing.read()

    def test_handshakes_in_progress_are_capped_per_address(self):
        held = [self.raw("127.0.0.7") for _ in range(3)]
        for sock in held:
            sock.sendall(b"\x16")  # a handshake begun, never finished
        member = self.join("member")  # a barrier: the three were accepted before this
        mark = len(self.daemon.stderr_lines)
        extra = self.raw("127.0.0.7")
        self.assert_closed_within(extra, 2)
        self.daemon.wait_for_log(r"refused 127\.0\.0\.7:\d+: too many TLS handshakes in progress", after=mark)
        # Another address still gets in.
        self.join_tls("other", source="127.0.0.8")
        self.expect(member, "other has joined the chat!")


if __name__ == "__main__":
    unittest.main()
