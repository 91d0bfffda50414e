"""Minimal sd_notify and native-journal senders for the selftest services (no libsystemd binding needed)."""
import os
import socket
import struct


def notify(message: str) -> None:
    """Sends one datagram to $NOTIFY_SOCKET, as sd_notify(3) does."""
    address = os.environ["NOTIFY_SOCKET"]
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.connect(address)
        sock.sendall(message.encode())


def journal_send(**fields: str) -> None:
    """Sends one entry over journald's native protocol; values with a newline use the binary encoding."""
    payload = b""
    for key, value in fields.items():
        data = value.encode()
        if b"\n" in data:
            payload += key.encode() + b"\n" + struct.pack("<Q", len(data)) + data + b"\n"
        else:
            payload += key.encode() + b"=" + data + b"\n"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.sendto(payload, "/run/systemd/journal/socket")
