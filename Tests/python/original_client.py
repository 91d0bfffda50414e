"""A chat client that talks exactly like the original Python chat room's client.

The original client (the one chatroomd must stay compatible with) did this:

    HEADER = 64
    FORMAT = "utf-8"

    def send(msg):
        message = msg.encode(FORMAT)
        send_length = str(len(message)).encode(FORMAT)
        send_length += b" " * (HEADER - len(send_length))
        client.send(send_length)      # the header in one send() ...
        client.send(message)          # ... and the payload in another

    def receive():
        msg_length = client.recv(HEADER).decode(FORMAT)
        if msg_length:
            msg_length = int(msg_length)
            msg = client.recv(msg_length).decode(FORMAT)

So every frame goes out as two separate `send()` calls, and every frame is read with
`recv(64)` then `recv(length)`, trusting each read to return the whole piece (it never
loops). This class keeps that behaviour on purpose; it adds only socket timeouts, used
as deadlines so a test fails instead of hanging, and a source-address bind so tests can
connect from 127.0.0.2, 127.0.0.3, ... (all of 127.0.0.0/8 is loopback on Linux).
"""

import socket
import time

HEADER = 64
FORMAT = "utf-8"
DISCONNECT_MESSAGE = "!DC"
DEFAULT_TIMEOUT = 5.0

ALLOWED_PREFIX = "127."


def _check_loopback(host):
    if not host.startswith(ALLOWED_PREFIX):
        raise ValueError(f"tests talk to 127.0.0.0/8 only, not {host!r}")


def encode_header(length):
    """The original's header: the length in ASCII decimal, right-padded with spaces."""
    send_length = str(length).encode(FORMAT)
    return send_length + b" " * (HEADER - len(send_length))


class OriginalClient:
    """One connection, driven like the original client. Not thread-safe for concurrent
    sends (like the original); one thread may send while another receives."""

    def __init__(self, sock, timeout):
        self.sock = sock
        self.timeout = timeout

    @classmethod
    def connect(cls, port, host="127.0.0.1", source=None, timeout=DEFAULT_TIMEOUT):
        """Connects to host:port, binding the local end to `source` (an address such as
        "127.0.0.2") when given."""
        _check_loopback(host)
        source_address = None
        if source is not None:
            _check_loopback(source)
            source_address = (source, 0)
        sock = socket.create_connection((host, port), timeout=timeout, source_address=source_address)
        return cls(sock, timeout)

    @property
    def local_address(self):
        return self.sock.getsockname()[0]

    # MARK: The original's two operations

    def send(self, msg):
        """Sends one frame: the 64-byte header with one send(), the payload with another."""
        message = msg.encode(FORMAT)
        self.send_raw(encode_header(len(message)), message)

    def send_raw(self, header, payload=b""):
        """Sends arbitrary header bytes and payload bytes, still as two send() calls, for
        tests that break the protocol on purpose. An empty payload is not sent."""
        self.sock.settimeout(self.timeout)
        self.sock.send(header)
        if payload:
            self.sock.send(payload)

    def recv(self, timeout=None):
        """Reads one frame as the original did: recv(64), then recv(length), no loops.
        Returns the text, or None when the server has closed the connection. Raises
        socket.timeout (TimeoutError) when nothing arrives within the timeout."""
        self.sock.settimeout(self.timeout if timeout is None else timeout)
        msg_length = self.sock.recv(HEADER).decode(FORMAT)
        if not msg_length:
            return None
        msg_length = int(msg_length)
        if msg_length == 0:
            return ""
        return self.sock.recv(msg_length).decode(FORMAT)

    # MARK: Conveniences for tests

    def join(self, nick):
        self.send(f"NICK:{nick}")

    def login_admin(self, password):
        self.send(f"admin:{password}")

    def recv_until(self, wanted, timeout=None):
        """Reads frames until one equals `wanted` (or satisfies it, when callable); returns
        every frame read, the matching one last. Fails on close or at the deadline."""
        matches = wanted if callable(wanted) else (lambda text: text == wanted)
        limit = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        seen = []
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"did not receive {wanted!r} within {limit} s; got {seen!r}")
            try:
                text = self.recv(timeout=remaining)
            except socket.timeout:
                raise AssertionError(f"did not receive {wanted!r} within {limit} s; got {seen!r}") from None
            if text is None:
                raise AssertionError(f"connection closed before {wanted!r}; got {seen!r}")
            seen.append(text)
            if matches(text):
                return seen

    def recv_n(self, count, timeout=None):
        """Reads exactly `count` frames (failing on close or at the deadline)."""
        limit = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        frames = []
        while len(frames) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"got {len(frames)} of {count} frames within {limit} s: {frames!r}")
            try:
                text = self.recv(timeout=remaining)
            except socket.timeout:
                raise AssertionError(f"got {len(frames)} of {count} frames within {limit} s: {frames!r}") from None
            if text is None:
                raise AssertionError(f"connection closed after {len(frames)} of {count} frames: {frames!r}")
            frames.append(text)
        return frames

    def disconnect(self):
        """Leaves like the original: sends !DC, then closes."""
        self.send(DISCONNECT_MESSAGE)
        self.close()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
