"""TLS for the daemon suites: certificates made at test time, and a client that speaks the
seed's protocol over Python's `ssl` module.

Certificates (and their private keys) are made with `openssl req` into a temporary
directory per test; none is ever committed. `TLSDaemonTestCase` starts chatroomd with a
plaintext listener (for seed clients) and a TLS one, both on ephemeral loopback ports.
"""

import hashlib
import os
import re
import socket
import ssl
import subprocess
import tempfile

from chatroomd_fixture import ADMIN_PASSWORD, DaemonTestCase
from original_client import DEFAULT_TIMEOUT, HEADER, FORMAT, OriginalClient, _check_loopback

OPENSSL_DEADLINE = 30.0
TLS_LISTENING = re.compile(r"listening on 127\.0\.0\.1:(\d+) \(TLS\)")


def make_certificate(directory, name="server", kind="ec", common_name="localhost"):
    """A self-signed certificate for localhost and 127.0.0.1; returns (certificate, key) paths."""
    certificate = os.path.join(directory, f"{name}.crt")
    key = os.path.join(directory, f"{name}.key")
    algorithm = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"] if kind == "ec" else ["-newkey", "rsa:2048"]
    subprocess.run(["openssl", "req", "-x509", *algorithm, "-nodes", "-keyout", key, "-out", certificate,
                    "-days", "2", "-subj", f"/CN={common_name}",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=OPENSSL_DEADLINE)
    return certificate, key


def fingerprint(certificate_path):
    """The SHA-256 of the certificate's DER, as lowercase hex."""
    with open(certificate_path) as handle:
        der = ssl.PEM_cert_to_DER_cert(handle.read())
    return hashlib.sha256(der).hexdigest()


class TLSClient(OriginalClient):
    """The seed's protocol over TLS. Reads loop until a piece is complete: over TLS one
    recv() returns at most the rest of one record, and a record may end inside a frame."""

    @classmethod
    def connect_tls(cls, port, cafile, host="127.0.0.1", source=None, timeout=DEFAULT_TIMEOUT,
                    minimum=None, maximum=None):
        _check_loopback(host)
        context = ssl.create_default_context(cafile=cafile)
        if minimum is not None:
            context.minimum_version = minimum
        if maximum is not None:
            context.maximum_version = maximum
        raw = socket.create_connection((host, port), timeout=timeout,
                                       source_address=(source, 0) if source else None)
        return cls(context.wrap_socket(raw, server_hostname="localhost"), timeout)

    def send_raw(self, header, payload=b""):
        self.sock.settimeout(self.timeout)
        self.sock.sendall(header + payload)

    def _read_exactly(self, count):
        data = b""
        while len(data) < count:
            chunk = self.sock.recv(count - len(data))
            if not chunk:
                return None if not data else data
            data += chunk
        return data

    def recv(self, timeout=None):
        self.sock.settimeout(self.timeout if timeout is None else timeout)
        try:
            header = self._read_exactly(HEADER)
        except (ssl.SSLZeroReturnError, ssl.SSLEOFError, ConnectionResetError):
            return None
        if header is None:
            return None
        length = int(header.decode(FORMAT))
        if length == 0:
            return ""
        return self._read_exactly(length).decode(FORMAT)

    @property
    def peer_fingerprint(self):
        return hashlib.sha256(self.sock.getpeercert(binary_form=True)).hexdigest()


class TLSDaemonTestCase(DaemonTestCase):
    """A daemon with a plaintext and a TLS listener; `self.tls_port`, `self.certificate`."""

    certificate_kind = "ec"
    tls_args = ()

    def setUp(self):
        directory = tempfile.TemporaryDirectory(prefix="chatroomd-tls-")
        self.addCleanup(directory.cleanup)
        self.certificate_directory = directory.name
        self.certificate, self.key = make_certificate(directory.name, kind=self.certificate_kind)
        self.daemon_args = ["--listen-tls", "127.0.0.1:0", "--tls-certificate", self.certificate,
                            "--tls-key", self.key, *self.tls_args]
        super().setUp()
        self.tls_port = int(self.daemon.wait_for_log(TLS_LISTENING).group(1))

    def connect_tls(self, source=None, **options):
        client = TLSClient.connect_tls(self.tls_port, self.certificate, source=source, **options)
        self.addCleanup(client.close)
        return client

    def join_tls(self, nick, source=None, **options):
        client = self.connect_tls(source=source, **options)
        client.join(nick)
        self.assertEqual(client.recv_n(2), ["Connected to the server", f"{nick} has joined the chat!"])
        return client

    def join_admin_tls(self, source=None):
        client = self.connect_tls(source=source)
        client.login_admin(ADMIN_PASSWORD)
        self.assertEqual(client.recv_n(2), ["Connected to the server", "An admin has joined the chat!"])
        return client
