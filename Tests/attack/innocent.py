#!/usr/bin/env python3
"""The innocent member: joins, says `ping N` every --interval seconds and times the echo.

It runs in a process of its own so the attacker's Python work (and the GIL) cannot
inflate what it measures. It prints one JSON line `{"ready": ...}` once it has seen its
own join notice; when a line `stop` (or EOF) arrives on stdin it says `end <token>` and
reads until that comes back, which is a barrier: the daemon handles one event at a time,
so everything it broadcast before handling `end` has been counted. Then it prints its
figures as one JSON line and exits. --max-seconds bounds it if nobody says stop.

Every frame other than its own echoes is counted in one-second bins of CLOCK_MONOTONIC
(the same clock in every process on Linux), so the harness can compute what a bystander
received during an attack window.
"""

import argparse
import json
import os
import selectors
import socket
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from original_client import HEADER, encode_header  # noqa: E402
import texts  # noqa: E402

JOIN_DEADLINE = 10.0
END_DEADLINE = 20.0
RESEND_INTERVAL = 0.5
WATCHED_KEPT = 500


def frame(text):
    payload = text.encode("utf-8")
    return encode_header(len(payload)) + payload


class Innocent:
    def __init__(self, args):
        self.args = args
        self.nick = args.nick
        self.echo_prefix = texts.chat_line(self.nick, "")
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind((args.source, 0))
        self.sock.settimeout(5)
        self.sock.connect(("127.0.0.1", args.port))
        self.sock.setblocking(False)
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.sock, selectors.EVENT_READ, "sock")
        self.inbuf = bytearray()
        self.outbuf = bytearray()
        self.joined = False
        self.eof = False
        self.eof_at = None
        self.sent = {}            # seq -> monotonic send time
        self.latency = {}         # seq -> seconds
        self.frames = 0
        self.too_fast = 0
        self.flooded = False
        self.notices = []         # the last frames that were neither chat nor join/leave
        self.bins = {}            # int(monotonic) -> frames other than own echoes
        self.watched = []         # [t, text] for frames containing a --watch string
        self.end_token = f"end-{os.getpid()}"
        self.end_seen = False

    # MARK: I/O

    def send(self, text):
        self.outbuf += frame(text)
        self.flush()

    def flush(self):
        while self.outbuf and not self.eof:
            try:
                sent = self.sock.send(self.outbuf)
            except BlockingIOError:
                break
            except OSError:
                self.on_eof()
                return
            del self.outbuf[:sent]
        events = selectors.EVENT_READ | (selectors.EVENT_WRITE if self.outbuf else 0)
        if not self.eof:
            self.selector.modify(self.sock, events, "sock")

    def on_eof(self):
        if not self.eof:
            self.eof = True
            self.eof_at = time.monotonic()
            self.selector.unregister(self.sock)

    def read(self):
        try:
            data = self.sock.recv(1 << 18)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.on_eof()
            return
        self.inbuf += data
        start = 0
        while len(self.inbuf) - start >= HEADER:
            length = int(bytes(self.inbuf[start:start + HEADER]).strip() or b"0")
            if len(self.inbuf) - start - HEADER < length:
                break
            text = bytes(self.inbuf[start + HEADER:start + HEADER + length]).decode("utf-8", "replace")
            start += HEADER + length
            self.on_frame(text)
        del self.inbuf[:start]

    def on_frame(self, text):
        now = time.monotonic()
        self.frames += 1
        if text.startswith(self.echo_prefix):
            body = text[len(self.echo_prefix):]
            if body.startswith("ping "):
                seq = int(body[5:])
                if seq in self.sent and seq not in self.latency:
                    self.latency[seq] = now - self.sent[seq]
                return
            if body == self.end_token:
                self.end_seen = True
                return
        if text == texts.joined(self.nick):
            self.joined = True
            return
        second = int(now)
        self.bins[second] = self.bins.get(second, 0) + 1
        if text == texts.TOO_FAST:
            self.too_fast += 1
        if text.startswith(texts.FLOODED_PREFIX):
            self.flooded = True
        if any(w in text for w in self.args.watch) and len(self.watched) < WATCHED_KEPT:
            self.watched.append([now, text])
        is_chat = texts.CHAT_SEPARATOR in text and not text.startswith("[")
        if not is_chat and not text.endswith(texts.JOINED_SUFFIX) and not text.startswith(texts.LEFT_PREFIX):
            self.notices = (self.notices + [text])[-10:]

    def pump(self, until):
        """Waits for the socket (and stdin, while registered) until `until`; returns "stop"
        if stdin said so."""
        timeout = max(0.0, until - time.monotonic())
        for key, mask in self.selector.select(timeout):
            if key.data == "stdin":
                line = sys.stdin.readline()
                if not line or line.strip() == "stop":
                    self.selector.unregister(sys.stdin)   # at EOF it would stay readable
                    return "stop"
                continue
            if mask & selectors.EVENT_WRITE:
                self.flush()
            if mask & selectors.EVENT_READ and not self.eof:
                self.read()
        return None

    # MARK: Behaviour

    def run(self):
        self.send(texts.NICK_PREFIX + self.nick)
        deadline = time.monotonic() + JOIN_DEADLINE
        while not self.joined and not self.eof and time.monotonic() < deadline:
            self.pump(deadline)
        if not self.joined:
            return dict(ready=False, error="did not join", notices=self.notices)
        print(json.dumps(dict(ready=True, at=time.monotonic())), flush=True)
        self.selector.register(sys.stdin, selectors.EVENT_READ, "stdin")
        started = time.monotonic()
        stop_at = started + self.args.max_seconds
        next_send = started
        seq = 0
        while not self.eof and time.monotonic() < stop_at:
            now = time.monotonic()
            if now >= next_send:
                seq += 1
                self.sent[seq] = now
                self.send(f"ping {seq}")
                next_send += self.args.interval
                if next_send < now:   # we were stalled ourselves: do not catch up in a burst
                    next_send = now + self.args.interval
            if self.pump(min(next_send, stop_at)) == "stop":
                break
        ended_at = time.monotonic()
        if not self.eof:
            self.say_end()
        return dict(
            ready=True, nick=self.nick, started=started, ended=ended_at,
            samples=[[self.sent[s], self.latency.get(s)] for s in sorted(self.sent)],
            end_echo=self.end_seen, disconnected=self.eof, disconnected_at=self.eof_at,
            flooded=self.flooded, too_fast=self.too_fast, frames=self.frames,
            bins=self.bins, watched=self.watched, notices=self.notices)


    def say_end(self):
        """Says the end token and reads until it comes back. A backlog of our own pings
        handled at once can empty our flood-control bucket, so while refusals arrive the
        token is said again, at most every RESEND_INTERVAL."""
        deadline = time.monotonic() + END_DEADLINE
        refusals, said_at = self.too_fast, time.monotonic()
        self.send(self.end_token)
        while not self.end_seen and not self.eof and time.monotonic() < deadline:
            self.pump(min(deadline, time.monotonic() + RESEND_INTERVAL))
            if self.too_fast > refusals and time.monotonic() >= said_at + RESEND_INTERVAL and not self.end_seen:
                refusals, said_at = self.too_fast, time.monotonic()
                self.send(self.end_token)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--source", default="127.0.0.2")
    parser.add_argument("--nick", default="innocent")
    parser.add_argument("--interval", type=float, default=0.1)
    parser.add_argument("--max-seconds", type=float, default=120.0)
    parser.add_argument("--watch", action="append", default=[])
    args = parser.parse_args()
    if not args.source.startswith("127."):
        parser.error("the innocent member talks from 127.0.0.0/8 only")
    result = Innocent(args).run()
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
