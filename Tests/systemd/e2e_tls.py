"""TLS under the real systemd (called from e2e_inside.py, inside the sandbox): the
chatroomd-tls.socket unit (FileDescriptorName=tls) beside chatroomd.socket, the certificate
and key as credentials (LoadCredential=), a TLS member and a plaintext one in one room, the
exposure of the unit with the TLS drop-in, and the journal's start-up lines.

Runs while chatroomd.socket is active and chatroomd.service is stopped; leaves them so.
"""
import os
import re
import socket
import ssl
import subprocess
import tempfile

DROP_IN = "/etc/systemd/system/chatroomd.service.d/60-tls.conf"
TLS_DIR = "/etc/chatroomd/tls"


def tls_client(cafile):
    context = ssl.create_default_context(cafile=cafile)
    raw = socket.create_connection(("127.0.0.1", 12443), timeout=15, source_address=("127.0.0.5", 0))
    return context.wrap_socket(raw, server_hostname="localhost")


def run_checks(check, run, show, wait_until, find_entry, join, Client, unit_dir):
    """`Client` is e2e_inside's, passed in (importing it here would make a second copy of
    the module that runs the checks, with counters of its own)."""
    verify = run("systemd-analyze", "verify", f"{unit_dir}/chatroomd-tls.socket")
    check(verify.returncode == 0 and verify.stderr.strip() == "", "systemd-analyze verify of chatroomd-tls.socket is clean",
          verify.stdout + verify.stderr)

    # A self-signed pair, readable by root only, passed to the service as credentials.
    os.makedirs(TLS_DIR, mode=0o700, exist_ok=True)
    certificate, key = f"{TLS_DIR}/cert.pem", f"{TLS_DIR}/key.pem"
    made = run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
               "-keyout", key, "-out", certificate, "-days", "2", "-subj", "/CN=localhost",
               "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1")
    check(made.returncode == 0, "openssl req made a test certificate", made.stderr[-300:])
    os.chmod(key, 0o600)
    with open(DROP_IN, "w") as file:
        file.write("[Service]\nLoadCredential=tls-certificate:%s\nLoadCredential=tls-key:%s\n" % (certificate, key))
    run("systemctl", "daemon-reload", check_exit=True)

    security = run("systemd-analyze", "security", "--no-pager", "chatroomd.service")
    match = re.search(r"Overall exposure level for chatroomd.service: ([0-9.]+)", security.stdout)
    exposure = float(match.group(1)) if match else 99
    check(exposure <= 1.0, f"with the TLS credentials the loaded unit's exposure {exposure} <= 1.0", security.stdout[-400:])

    started = run("systemctl", "start", "chatroomd-tls.socket")
    check(started.returncode == 0 and show("chatroomd-tls.socket", "ActiveState") == "active",
          "chatroomd-tls.socket listens on 12443", started.stderr)
    check(show("chatroomd.service", "ActiveState") == "inactive", "chatroomd.service waits for a connection")

    # The first TLS connection activates the service, which receives both sockets.
    try:
        secure = Client(sock=tls_client(certificate))
        secure.send("NICK:tlsmember")
        first = [secure.receive(), secure.receive()]
        while first[-1] is not None and first[-1].startswith("[history "):
            first[-1] = secure.receive()
        check(first == ["Connected to the server", "tlsmember has joined the chat!"],
              f"a TLS member joins through chatroomd-tls.socket ({secure.sock.version()})", repr(first))
    except (OSError, ssl.SSLError, TimeoutError) as error:
        check(False, "a TLS member joins through chatroomd-tls.socket", repr(error))
        secure = None
    check(wait_until(lambda: show("chatroomd.service", "SubState") == "running"), "the TLS connection activated chatroomd.service")
    listen = find_entry(CHAT_EVENT="listen", CHAT_ADDRESS="[::]:12443")
    check(listen is not None and "(TLS) from systemd (tls)" in listen.get("MESSAGE", ""),
          "the journal says the socket named tls is the TLS listener", repr(listen and listen.get("MESSAGE")))
    tls_line = find_entry(CHAT_EVENT="tls")
    message = (tls_line or {}).get("MESSAGE", "")
    check("/tls-certificate" in message and ("kernel TLS unavailable" in message or "kernel TLS where" in message),
          "the journal names the credential and the record path", repr(tls_line and tls_line.get("MESSAGE")))

    if secure is not None:
        plain = join("plainmember", source="127.0.0.6")
        line = secure.receive()
        check(line == "plainmember has joined the chat!", "the TLS member sees the plaintext member join", repr(line))
        secure.send("over TLS under systemd")
        plain.expect("tlsmember: over TLS under systemd", "the plaintext member reads the TLS member's line")
        check(secure.receive() == "tlsmember: over TLS under systemd", "the TLS member reads its own line")
        plain.close()
        secure.close()

    run("systemctl", "stop", "chatroomd.service")
    run("systemctl", "stop", "chatroomd-tls.socket")
    os.remove(DROP_IN)
    run("systemctl", "daemon-reload", check_exit=True)
    check(show("chatroomd.service", "ActiveState") == "inactive", "chatroomd.service stopped after the TLS checks")
