#!/usr/bin/env python3
"""Writes the small, hand-made seed corpora under Tests/Fuzz/Corpus/<target>/.

The fuzzers grow their working corpora under .build-fuzz/corpus/ (not committed); these
seeds only give each target a start that already speaks the protocol. Run again after
changing the input layouts in the *FuzzCheck.swift files.
"""

from pathlib import Path

HERE = Path(__file__).resolve().parent


def header(text):
    raw = text.encode() if isinstance(text, str) else text
    return raw + b" " * (64 - len(raw))


def frame(payload):
    payload = payload.encode() if isinstance(payload, str) else payload
    return header(str(len(payload))) + payload


def write(target, seeds):
    folder = HERE / "Corpus" / target
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("seed-*"):
        old.unlink()
    for name, data in seeds.items():
        (folder / f"seed-{name}").write_bytes(data)


# frame-decoder: [mode, seed, seed, stop] + body. Mode bit 0: well-formed stream built from
# the body; bit 1: truncate it; high nibble: payload limit (5 = 65536, 3 = 64).
RAW, WELL, CUT = 0x50, 0x51, 0x53
write("frame-decoder", {
    "join-chat": bytes([RAW, 1, 2, 0]) + frame("NICK:alice") + frame("hello") + frame(""),
    "split-header": bytes([RAW, 7, 9, 0]) + frame("héllo ✓") + header("12")[:30],
    "leading-spaces": bytes([RAW, 3, 4, 0]) + header("  5") + b"hello",
    "overflow": bytes([RAW, 0, 0, 0]) + header("9" * 40),
    "too-large": bytes([0x30, 0, 0, 0]) + header("65"),
    "bad-utf8": bytes([RAW, 0, 0, 0]) + header("3") + b"\xed\xa0\x80",
    "digits-after-space": bytes([RAW, 0, 0, 0]) + header("1 2"),
    "well-formed": bytes([WELL, 5, 6, 0x81]) + bytes([5]) + b"hello" + bytes([0]) + bytes([3]) + "✓".encode(),
    "truncated": bytes([CUT, 5, 6, 0]) + bytes([10]) + b"0123456789" + bytes([200]) + b"x" * 200,
})

# client-request: the payload itself.
write("client-request", {
    "nick": b"NICK:alice", "admin": b"admin:secret", "kick": b"/kick bob", "ban-spaces": b"/ban   bob  ",
    "dc": b"!DC", "slash": b"/", "slash-space": b"/ x", "chat": b"hello", "combining-slash": "/\u0301kick".encode(),
    "combining-nick": "NICK:\u0301x".encode(), "nel": "/\u0085kick".encode(), "crlf": b"/\r\nkick", "empty": b"",
})

# room: [configuration, restored bans] then events of [op, connection selector, arguments...]
# (see RoomFuzzRun.step: 0 connect from address <selector>, 2 NICK <nick>, 4 admin <password>,
# 5 text, 6 /command <name> <separator> <target> <extra>, 8 !DC, 9 peer close, 10 close
# completes, 11 violation, 12 time <step>, 13 tick <step>, 14 raw text, 15 burst <count>,
# 16 operator <name> <separator> <target> <extra>, 0xFF shutdown).
def room(config, bans, *events):
    return bytes([config, bans]) + b"".join(bytes(e) for e in events)

A, B, C = 0, 1, 2
KICK, BAN, MUTE, UNBAN, NICK, LOGIN = 0, 1, 4, 6, 13, 14
BOB, ALICE, CAROL, EMPTY, MOD, RANGE30, ADDR1 = 2, 0, 4, 9, 21, 28, 26
write("room", {
    "chat": room(0, 0, [0, A], [2, 0, ALICE], [0, B], [2, 1, BOB], [5, 0, 0], [5, 1, 0], [8, 0]),
    "kick": room(1, 0, [0, A], [4, 0, 0], [0, B], [2, 1, BOB], [6, 0, KICK, 0, BOB, 0]),
    "ban": room(2, 0, [0, A], [4, 0, 0], [0, B], [2, 1, BOB], [6, 0, BAN, 0, BOB, 0], [0, B], [10, 0]),
    "ban-range": room(2, 0, [0, A], [4, 0, 0], [0, B], [2, 1, BOB], [0, C], [2, 2, CAROL],
                      [6, 0, BAN, 0, RANGE30, 2], [13, 0, 9], [0, B]),
    "mute": room(3, 0, [0, A], [4, 0, 0], [0, B], [2, 1, BOB], [6, 0, MUTE, 0, BOB, 3], [5, 1, 0], [12, 0, 6], [5, 1, 0]),
    "flood": room(12, 0, [0, A], [2, 0, ALICE], [0, B], [2, 1, BOB], [15, 0, 39], [15, 0, 39]),
    "slowmode": room(16, 0, [0, A], [2, 0, ALICE], [5, 0, 0], [5, 0, 0], [12, 0, 4], [5, 0, 0]),
    "operator": room(0, 0xF1, [0, A], [0, B], [2, 0, BOB], [16, 0, BAN, 0, BOB, 1], [16, 0, UNBAN, 0, ADDR1, 0], [13, 0, 9], [0, A]),
    "handshake": room(0, 0, [0, A], [13, 0, 5], [13, 0, 5]),
    "login-nick": room(0, 0, [0, A], [2, 0, BOB], [6, 0, LOGIN, 0, MOD, 14], [6, 0, NICK, 0, ALICE, 0], [0, B], [2, 1, ALICE]),
    "shutdown": room(0, 0, [0, A], [2, 0, ALICE], [0, B], [0xFF, 0]),
})

# state-file: [selector: 0 sanctions.json, 1 history.json, 2 room.json] + the file's bytes.
SANCTION = b'{"kind": "ban", "range": "10.0.0.0/8", "nick": "bob", "reason": "spam", "setBy": "admin", "setAt": 1700000000, "expiresAt": 1700000600}'
MUTE6 = b'{"kind": "mute", "range": "2001:db8::1", "setBy": "chatroomctl:root", "setAt": 0}'
INT64_MIN = b'{"kind": "ban", "range": "127.0.0.2", "setBy": "admin", "setAt": 1, "expiresAt": -9223372036854775808}'
write("state-file", {
    "sanctions": bytes([0]) + b'{"version": 1, "sanctions": [' + SANCTION + b", " + MUTE6 + b"]}\n",
    "sanctions-int64-min": bytes([0]) + b'{"version": 1, "sanctions": [' + SANCTION + b", " + INT64_MIN + b"]}\n",
    "sanctions-huge": bytes([0]) + b'{"version": 1, "sanctions": [{"kind": "ban", "range": "::/0", "setBy": "a", "setAt": 1e30}, 42]}',
    "history": bytes([1]) + b'{"version": 1, "lines": [{"time": 1700000000, "text": "alice: hi", "address": "127.0.0.1"}, '
                            b'{"time": 9223372036854775807, "text": "x", "address": "::1"}]}\n',
    "room": bytes([2]) + b'{"version": 1, "topic": {"text": "welcome", "setBy": "admin", "setAt": 1700000000}}\n',
    "room-empty": bytes([2]) + b'{"version": 1}',
})
