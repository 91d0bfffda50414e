"""Many non-blocking chat connections driven from one thread on one selector, for the
load tests (test_nothing_lost.py, Tests/soak/soak.py). No threads, no sleeps: `Loop.pump`
waits on the sockets with a deadline and runs each client's next action when it is due.

A client's chat messages are `m <nick> <seq> <padding>`; every chat line it receives is
recorded as the key (nick, seq), so duplicates, gaps and reorders are visible, and the
time each of its own messages went to the kernel is recorded in `Loop.sent`.
"""

import collections
import selectors
import socket
import time

from original_client import HEADER, encode_header


def frame(text):
    payload = text.encode("utf-8") if isinstance(text, str) else text
    return encode_header(len(payload)) + payload


class Client:
    """One connection in the event loop: non-blocking, buffered both ways."""

    def __init__(self, test, nick, role, source, join_notice=None, keep_frames=None):
        self.test = test
        self.nick = nick
        self.role = role
        self.source = source
        self.sock = None
        self.inbuf = bytearray()
        self.outbuf = bytearray()
        self.out_base = 0              # bytes of outbuf already written (absolute offset)
        self.pending = []              # (absolute end offset, key) of chat not yet in the kernel
        # Every frame received, in order (only the last `keep_frames` if given).
        self.frames = [] if keep_frames is None else collections.deque(maxlen=keep_frames)
        self.frame_count = 0
        self.join_notice = join_notice or f"{nick} has joined the chat!"
        self.chat = []                 # keys of chat lines received (history excluded)
        self.joined_at = None          # when it saw its own join notice
        self.left_at = None            # when it sent !DC
        self.eof = False
        self.reading = True
        self.closed = False
        self.seq = 0
        self.next_action = None
        self.wanted_events = 0
        self.notes = []
        self.on_text = None            # optional hook: called with (client, text) for every frame
        self.act = None                # the behaviour: act(client, now) runs when next_action is due

    # MARK: Socket

    def connect(self, port, rcvbuf=None):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.bind((self.source, 0))
        sock.settimeout(5)
        sock.connect(("127.0.0.1", port))
        sock.setblocking(False)
        self.sock = sock
        self.test.register(self)

    def send_bytes(self, data, key=None):
        if self.closed:
            return
        self.outbuf += data
        if key is not None:
            self.pending.append((self.out_base + len(self.outbuf), key))
        self.flush()

    def flush(self):
        while self.outbuf and not self.closed:
            try:
                sent = self.sock.send(self.outbuf[:262144])
            except BlockingIOError:
                break
            except OSError as error:
                self.notes.append(f"send failed: {error}")
                self.outbuf.clear()
                self.pending.clear()
                break
            del self.outbuf[:sent]
            self.out_base += sent
        now = time.monotonic()
        while self.pending and self.pending[0][0] <= self.out_base:
            _, key = self.pending.pop(0)
            self.test.sent[key] = (self, now)
        self.test.update_interest(self)

    def say(self, low=20, high=3000):
        self.seq += 1
        key = (self.nick, self.seq)
        padding = "x" * self.test.rng.randint(low, high)
        self.send_bytes(frame(f"m {self.nick} {self.seq} {padding}"), key)
        return key

    def on_readable(self):
        try:
            data = self.sock.recv(262144)
        except BlockingIOError:
            return
        except OSError as error:
            self.notes.append(f"recv failed: {error}")
            data = b""
        if not data:
            self.eof = True
            self.test.close(self)
            return
        self.inbuf += data
        while len(self.inbuf) >= HEADER:
            length = int(bytes(self.inbuf[:HEADER]).decode("ascii").strip())
            if len(self.inbuf) < HEADER + length:
                break
            text = bytes(self.inbuf[HEADER:HEADER + length]).decode("utf-8")
            del self.inbuf[:HEADER + length]
            self.on_frame(text)

    def on_frame(self, text):
        self.frames.append(text)
        self.frame_count += 1
        if self.on_text is not None:
            self.on_text(self, text)
        if self.joined_at is None and text == self.join_notice:
            self.joined_at = time.monotonic()
        if text.startswith("[history "):
            return
        nick, sep, body = text.partition(": ")
        if sep and body.startswith("m ") and not nick.startswith("["):
            parts = body.split(" ", 3)
            if len(parts) >= 3 and parts[1] == nick:
                self.chat.append((nick, int(parts[2])))




class Loop:
    """The selector and the clients on it."""

    def __init__(self, rng):
        self.rng = rng
        self.selector = selectors.DefaultSelector()
        self.clients = []
        self.sent = {}   # key -> (sender, time the last byte went to the kernel)

    def register(self, client):
        self.clients.append(client)
        client.wanted_events = selectors.EVENT_READ
        self.selector.register(client.sock, selectors.EVENT_READ, client)

    def update_interest(self, client):
        if client.closed:
            return
        events = (selectors.EVENT_READ if client.reading else 0) | (selectors.EVENT_WRITE if client.outbuf else 0)
        if events == client.wanted_events:
            return
        if client.wanted_events and events:
            self.selector.modify(client.sock, events, client)
        elif events:
            self.selector.register(client.sock, events, client)
        else:
            self.selector.unregister(client.sock)
        client.wanted_events = events

    def close(self, client, reset=False):
        if client.closed or client.sock is None:
            return
        if client.wanted_events:
            self.selector.unregister(client.sock)
            client.wanted_events = 0
        if reset:
            # SO_LINGER 0: the close sends a reset, the rudest way to vanish.
            client.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        client.sock.close()
        client.closed = True

    def close_all(self):
        for client in self.clients:
            self.close(client)
        self.selector.close()

    def forget_closed(self):
        """Drops closed clients from the loop's list (long runs)."""
        self.clients = [c for c in self.clients if not c.closed]

    def pump(self, until, done=lambda: False):
        """Runs the loop until `until` (monotonic) or `done()`; actions fire on time."""
        while True:
            now = time.monotonic()
            if done() or now >= until:
                return
            due = [c.next_action for c in self.clients if not c.closed and c.next_action is not None]
            timeout = max(0.0, min([until - now, 0.05] + [d - now for d in due]))
            for key, mask in self.selector.select(timeout):
                client = key.data
                if mask & selectors.EVENT_WRITE and not client.closed:
                    client.flush()
                if mask & selectors.EVENT_READ and not client.closed:
                    client.on_readable()
            now = time.monotonic()
            for client in list(self.clients):
                if not client.closed and client.next_action is not None and client.next_action <= now:
                    client.next_action = None
                    client.act(client, now)
