"""Short-lived connections in a fixed number of slots, on one selector: each slot
connects from a source address, writes its bytes at once, reads frames until the
server closes, closes, and starts again. The greeting flood (`admin:wrong`) and the
join/leave churn (`NICK:x` + `!DC`) are both this shape.

Bounded: by --seconds and by a cycle count; a connection the server keeps open past
`stuck_after` is closed and counted as stuck.
"""

import selectors
import socket
import time

from original_client import HEADER

# Linux: choose the port at connect() rather than bind(), so thousands of connections
# from one source address can share ports across destinations without EADDRINUSE.
IP_BIND_ADDRESS_NO_PORT = getattr(socket, "IP_BIND_ADDRESS_NO_PORT", 24)


def connect_from(source, port, timeout):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1)
        sock.bind((source, 0))
        sock.settimeout(timeout)
        sock.connect(("127.0.0.1", port))
    except OSError:
        sock.close()
        raise
    return sock


def split_frames(buffer):
    """Complete frames at the front of `buffer` (removed from it), as text."""
    frames = []
    start = 0
    while len(buffer) - start >= HEADER:
        length = int(bytes(buffer[start:start + HEADER]).strip() or b"0")
        if len(buffer) - start - HEADER < length:
            break
        frames.append(bytes(buffer[start + HEADER:start + HEADER + length]).decode("utf-8", "replace"))
        start += HEADER + length
    del buffer[:start]
    return frames


class _Slot:
    __slots__ = ("sock", "number", "inbuf", "frames", "opened")


class Cycler:
    """`source(n)` gives cycle n's source address, `payload(n)` its bytes, and
    `finished(n, frames, seconds)` hears each cycle's frames once the server closed."""

    def __init__(self, port, slots, source, payload, finished, connect_timeout=0.5, stuck_after=5.0):
        self.port = port
        self.slots = slots
        self.source = source
        self.payload = payload
        self.finished = finished
        self.connect_timeout = connect_timeout
        self.stuck_after = stuck_after
        self.selector = selectors.DefaultSelector()
        self.started = 0          # cycles begun
        self.completed = 0        # cycles the server closed
        self.stuck = 0
        self.connect_errors = {}  # error name -> count

    def _open(self, max_cycles):
        if self.started >= max_cycles:
            return False
        n = self.started
        self.started += 1
        try:
            sock = connect_from(self.source(n), self.port, self.connect_timeout)
            sock.setblocking(False)
            sock.sendall(self.payload(n))   # small: fits the socket buffer at once
        except OSError as error:
            name = type(error).__name__ if error.errno is None else (error.strerror or str(error.errno))
            self.connect_errors[name] = self.connect_errors.get(name, 0) + 1
            return True
        slot = _Slot()
        slot.sock, slot.number, slot.inbuf, slot.frames, slot.opened = sock, n, bytearray(), [], time.monotonic()
        self.selector.register(sock, selectors.EVENT_READ, slot)
        return True

    def _close(self, slot):
        self.selector.unregister(slot.sock)
        slot.sock.close()

    def run(self, seconds, max_cycles):
        """Cycles for `seconds` (or until `max_cycles` have begun); then closes what is open.
        Returns the seconds actually spent."""
        began = time.monotonic()
        until = began + seconds
        open_slots = 0
        while time.monotonic() < until:
            for _ in range(self.slots - open_slots):   # at most one attempt per free slot a pass
                if not self._open(max_cycles):
                    break
            open_slots = len(self.selector.get_map())
            if open_slots == 0:
                if self.started >= max_cycles:
                    break
                continue
            for key, _ in self.selector.select(min(0.05, max(0.0, until - time.monotonic()))):
                slot = key.data
                try:
                    data = slot.sock.recv(1 << 16)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if data:
                    slot.inbuf += data
                    slot.frames += split_frames(slot.inbuf)
                    continue
                self._close(slot)
                self.completed += 1
                self.finished(slot.number, slot.frames, time.monotonic() - slot.opened)
            now = time.monotonic()
            for key in list(self.selector.get_map().values()):
                if now - key.data.opened > self.stuck_after:
                    self._close(key.data)
                    self.stuck += 1
            open_slots = len(self.selector.get_map())
        for key in list(self.selector.get_map().values()):
            self._close(key.data)
        self.selector.close()
        return time.monotonic() - began
