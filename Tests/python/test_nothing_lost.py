"""Nothing lost: many clients misbehaving at once must not cost a well-behaved member a
single message.

Forty connections run for a bounded time (NOTHING_LOST_SECONDS, default 8) from one
thread, on one selector, with deadlines and no sleeps:

- well-behaved members chat at a polite rate and read everything: one sentinel that
  joins first and stays, stayers, late joiners, and joiner-leavers that leave with !DC;
- flooders: hard ones write as fast as the socket takes (flood control refuses, then
  disconnects them), a soft one at three times the allowed rate (throttled, never cut);
- stallers: a tiny receive buffer, then no reading for a while; they resume, or vanish
  (some are cut first with "send queue exceeded": the daemon runs with a 1 MiB bound);
- garbage senders: malformed headers, invalid UTF-8, oversize and overflowing lengths;
- mid-frame disconnectors: half a header or half a payload, then gone.

Afterwards the sentinel sends two barriers (the second once everyone has the first), and
every well-behaved member reads up to the second. Then:

- the sentinel's sequence of chat lines is the server's order; every well-behaved
  member's sequence is one contiguous slice of it (exactly once, same order, no gaps),
  and a member that stayed has the whole tail of it;
- every message a well-behaved member sent is in the sentinel's sequence, and in the
  sequence of every member that had joined before it was sent;
- no well-behaved member was refused (flood control, slowmode) or cut;
- garbage got "Protocol error: ..." and a close; at least one flooder was refused.

Messages are `m <nick> <seq> <padding>`, so a duplicate or a reorder is visible. The RNG
seed is printed with every failure; NOTHING_LOST_SEED=<seed> replays the same plan.
"""

import os
import random
import signal
import time
import unittest

from chatroomd_fixture import DaemonTestCase
from loadclients import Client, Loop, frame
from original_client import HEADER, encode_header

SECONDS = float(os.environ.get("NOTHING_LOST_SECONDS", "8"))
# Small enough that a staller with a 4 KiB receive buffer is cut within seconds, large
# enough (4x the most one reactor turn of this workload can queue) that a member who reads
# is never cut: the reactor checks the bound when a turn queues output, before writing it.
SEND_QUEUE_BYTES = 1 << 20
DRAIN_DEADLINE = 30.0
LEAVE_MARGIN = 0.5
ADDRESSES = [f"127.0.0.{i}" for i in range(2, 10)]

TOO_FAST = "You are sending messages too fast; that one was not delivered."
FLOODED = "You have been disconnected for flooding."
SLOWMODE = "Slowmode is on"


class NothingLostTest(DaemonTestCase):
    daemon_args = ("--max-send-queue-bytes", str(SEND_QUEUE_BYTES))

    def setUp(self):
        super().setUp()
        seed = os.environ.get("NOTHING_LOST_SEED")
        self.seed = int(seed) if seed else random.SystemRandom().randrange(1 << 32)
        self.rng = random.Random(self.seed)
        self.loop = Loop(self.rng)
        self.addCleanup(self.loop.close_all)

    def context(self):
        tail = "\n".join(self.daemon.stderr_lines[-15:])
        return f"seed={self.seed} (replay: NOTHING_LOST_SEED={self.seed}), {SECONDS} s; daemon log tail:\n{tail}"

    # MARK: The test

    def test_well_behaved_members_lose_nothing(self):
        rng = self.rng
        start = time.monotonic()
        stop = start + SECONDS
        addresses = list(ADDRESSES)
        rng.shuffle(addresses)
        sources = iter(addresses[i % len(addresses)] for i in range(1000))

        def polite_interval():
            return rng.uniform(0.08, 0.3)   # under the default 10 messages/s (burst 20)

        roles = (["stayer"] * 15 + ["late"] * 4 + ["leaver"] * 4 + ["hard-flooder"] * 2 + ["soft-flooder"]
                 + ["staller"] * 5 + ["garbage"] * 4 + ["midframe"] * 4)
        rng.shuffle(roles)
        roles = ["sentinel"] + roles
        garbage_kinds = ["malformed", "utf8", "oversize", "overflow", "space-digit"]

        port = self.port
        loop = self.loop

        def make(index, role):
            client = Client(loop, f"{role[:5]}{index}", role, next(sources))
            client.start_at = start
            if role == "late":
                client.start_at = start + rng.uniform(0.5, SECONDS / 2)
            elif role == "leaver":
                client.start_at = start + rng.uniform(0.2, SECONDS / 2)
                client.leave_at = client.start_at + rng.uniform(0.5, SECONDS / 2)
            elif role in ("garbage", "midframe"):
                client.start_at = start + rng.uniform(0.2, SECONDS * 0.8)
                client.kind = rng.choice(garbage_kinds)
                client.join_first = rng.random() < 0.6
            elif role == "staller":
                client.stall_at = start + rng.uniform(0.3, SECONDS / 2)
                client.stall_for = rng.uniform(1.0, 6.0)
                client.then = rng.choice(["resume", "vanish", "vanish-reset"])
            elif role in ("hard-flooder", "soft-flooder"):
                client.start_at = start + rng.uniform(0.3, SECONDS / 3)
            client.phase = "idle"
            client.next_action = client.start_at
            client.act = behave
            return client

        def well_behaved(client):
            return client.role in ("sentinel", "stayer", "late", "leaver")

        def behave(c, now):
            if c.closed:
                return
            if c.phase == "idle":
                c.connect(port, rcvbuf=4096 if c.role == "staller" else None)
                c.phase = "connected"
                if c.role == "garbage" and not c.join_first:
                    send_garbage(c)
                    return
                c.send_bytes(frame(f"NICK:{c.nick}"))
                c.phase = "joining"
                c.next_action = now + 0.05
                return
            if c.phase == "joining" and c.joined_at is None:
                if c.eof:
                    return
                c.next_action = now + 0.05
                return
            c.phase = "member"
            if now >= stop:
                return   # the chaos is over; the drain takes it from here
            if c.role in ("sentinel", "stayer", "late"):
                c.say()
                c.next_action = now + polite_interval()
            elif c.role == "leaver":
                if now >= c.leave_at:
                    c.send_bytes(frame("!DC"))
                    c.left_at = time.monotonic()
                    c.phase = "left"
                    return
                c.say()
                c.next_action = min(c.leave_at, now + polite_interval())
            elif c.role == "hard-flooder":
                for _ in range(200):   # as fast as the socket takes, a bounded batch per turn
                    if len(c.outbuf) >= 65536 or c.closed:
                        break
                    c.say()
                c.next_action = now + 0.01
            elif c.role == "soft-flooder":
                c.say()
                c.next_action = now + 1 / 30
            elif c.role == "staller":
                if c.reading and now >= c.stall_at and c.stall_for:
                    c.reading = False
                    loop.update_interest(c)
                    c.next_action = now + c.stall_for
                    c.stall_for = 0
                    return
                if not c.reading:
                    if c.then == "resume":
                        c.reading = True
                        loop.update_interest(c)
                    else:
                        loop.close(c, reset=c.then == "vanish-reset")
                        return
                c.say()
                c.next_action = now + polite_interval()
            elif c.role == "garbage":
                send_garbage(c)
            elif c.role == "midframe":
                c.say()
                if rng.random() < 0.5:
                    c.send_bytes(encode_header(1000) + b"partial payload")
                else:
                    c.send_bytes(b"12   ")
                loop.close(c, reset=rng.random() < 0.5)

        def send_garbage(c):
            if c.kind == "malformed":
                c.send_bytes(b"abc".ljust(HEADER, b" "))
            elif c.kind == "utf8":
                c.send_bytes(encode_header(5) + b"\xff\xfe\xed\xa0\x80")
            elif c.kind == "oversize":
                c.send_bytes(encode_header(1_000_000_000))
            elif c.kind == "overflow":
                c.send_bytes(b"9" * HEADER)
            else:
                c.send_bytes(b"1 2".ljust(HEADER, b" "))
            c.phase = "garbage-sent"

        everyone = [make(i, role) for i, role in enumerate(roles)]
        sentinel = everyone[0]
        # The sentinel joins before anything else happens: its sequence is the server's order.
        sentinel.act(sentinel, time.monotonic())
        self.loop.pump(time.monotonic() + 5, lambda: sentinel.joined_at is not None)
        self.assertIsNotNone(sentinel.joined_at, f"the sentinel could not join; {self.context()}")
        # The others start on their own schedule (they register with the loop on connect).
        pending = everyone[1:]
        waiting = list(pending)

        def start_due(now):
            for client in list(waiting):
                if client.start_at <= now:
                    waiting.remove(client)
                    client.act(client, now)

        # The chaos phase.
        while time.monotonic() < stop:
            start_due(time.monotonic())
            next_start = min([c.start_at for c in waiting], default=stop)
            self.loop.pump(min(stop, next_start, time.monotonic() + 0.05))
        for client in waiting:   # anyone who never got to start
            pending.remove(client)

        # Quiesce: misbehaving clients go away; well-behaved ones finish writing.
        for client in pending:
            if not well_behaved(client) and not client.closed:
                self.loop.close(client)
            client.next_action = None
        members = [c for c in [sentinel] + pending
                   if well_behaved(c) and c.sock is not None and (not c.closed or c.phase == "left")]
        self.loop.pump(time.monotonic() + DRAIN_DEADLINE, lambda: all(not c.outbuf or c.closed for c in members))
        cut = [f"{c.nick} ({c.role}): {[f[:80] for f in c.frames[-2:]]} {c.notes}" for c in [sentinel] + pending
               if well_behaved(c) and c.eof and c.phase != "left"]
        self.assertEqual(cut, [], f"the server closed well-behaved members; {self.context()}")
        leavers = [c for c in members if c.role == "leaver" and c.phase == "left"]
        stayers = [c for c in members if c not in leavers and c.joined_at is not None]
        self.loop.pump(time.monotonic() + DRAIN_DEADLINE, lambda: all(c.eof for c in leavers))

        # Two barriers: the second is sent once everyone has the first, so nothing sent
        # before the first can still be on its way when the second arrives.
        for number in (1, 2):
            key = sentinel.say()
            self.loop.pump(time.monotonic() + DRAIN_DEADLINE, lambda: all(key in c.chat for c in stayers))
            late = [c.nick for c in stayers if key not in c.chat]
            self.assertEqual(late, [], f"barrier {number} did not reach everyone within {DRAIN_DEADLINE} s; {self.context()}")

        self.check(sentinel, stayers, leavers, everyone)

    # MARK: Checks

    def check(self, sentinel, stayers, leavers, everyone):
        context = self.context()
        reference = sentinel.chat
        self.assertEqual(len(set(reference)), len(reference), f"the sentinel got a message twice; {context}")
        position = {key: index for index, key in enumerate(reference)}
        well_behaved_keys = {key: value for key, value in self.loop.sent.items()
                             if value[0].role in ("sentinel", "stayer", "late", "leaver")}

        # Every well-behaved message reached the sentinel (it joined before any was sent).
        missing = [key for key in well_behaved_keys if key not in position]
        self.assertEqual(missing[:10], [], f"{len(missing)} well-behaved messages never reached the sentinel; {context}")

        for member in stayers + leavers:
            seq = member.chat
            self.assertEqual(len(set(seq)), len(seq), f"{member.nick} got a message twice; {context}")
            refusals = [f for f in member.frames if f in (TOO_FAST, FLOODED) or f.startswith(SLOWMODE)]
            self.assertEqual(refusals, [], f"well-behaved {member.nick} was refused; {context}")
            if not seq:
                continue
            stray = [key for key in seq if key not in position]
            self.assertEqual(stray, [], f"{member.nick} got messages the sentinel never got; {context}")
            first = position[seq[0]]
            expected_slice = reference[first:first + len(seq)]
            if seq != expected_slice:
                diverge = next(i for i, (a, b) in enumerate(zip(seq, expected_slice + [None] * len(seq))) if a != b)
                self.fail(f"{member.nick}'s messages are not one contiguous slice of the server's order: "
                          f"at {diverge} it got {seq[diverge]}, the order has "
                          f"{expected_slice[diverge] if diverge < len(expected_slice) else 'nothing'}; {context}")
            if member in stayers:
                self.assertEqual(first + len(seq), len(reference),
                                 f"{member.nick} stayed but missed the end of the conversation; {context}")
            # Everything sent after it joined (and, for a leaver, well before it left).
            have = set(seq)
            for key, (sender, sent_at) in well_behaved_keys.items():
                if sent_at <= member.joined_at:
                    continue
                if member.left_at is not None and sent_at >= member.left_at - LEAVE_MARGIN:
                    continue
                self.assertIn(key, have, f"{member.nick} (joined {member.joined_at - sentinel.joined_at:.3f} s in) "
                                         f"missed {key} sent {sent_at - sentinel.joined_at:.3f} s in; {context}")

        # The misbehaving clients were handled as the protocol says.
        garbage = [c for c in everyone if c.role == "garbage" and c.phase == "garbage-sent"]
        for client in garbage:
            errors = [f for f in client.frames if f.startswith("Protocol error:")]
            self.assertTrue(errors or client.notes, f"{client.nick} sent garbage ({client.kind}) but got no protocol "
                                                    f"error: {client.frames[-3:]}; {context}")
        flooders = [c for c in everyone if c.role.endswith("flooder") and c.frames]
        if flooders:
            refused = [c.nick for c in flooders if TOO_FAST in c.frames or FLOODED in c.frames]
            self.assertTrue(refused, f"no flooder was ever refused; {context}")
        self.report(sentinel, stayers, leavers, everyone)

    def report(self, sentinel, stayers, leavers, everyone):
        if os.environ.get("NOTHING_LOST_VERBOSE") != "1":
            return
        log = self.daemon.stderr_lines
        cut = sorted({c.nick for c in everyone for line in log
                      if "send-queue-exceeded" in line and f"chat_nick={c.nick} " in line})
        flooded = [c.nick for c in everyone if FLOODED in c.frames]
        refused = sum(c.frames.count(TOO_FAST) for c in everyone)
        print(f"\nseed={self.seed}: {len(sentinel.chat)} chat lines in one order, {len(stayers)} stayers, "
              f"{len(leavers)} leavers; cut for send queue: {cut}; refused as too fast: {refused}; "
              f"disconnected for flooding: {flooded}")


class OneTurnTest(DaemonTestCase):
    """The send-queue bound must hold back a slow reader, not a fast one: it is enforced
    after a turn's writes, on what the peer could not take."""

    def test_one_turn_of_bursts_does_not_cut_a_reader(self):
        reader = self.join("reader", source="127.0.0.2")
        senders = []
        for i in range(40):
            sender = self.join(f"s{i}", source=f"127.0.0.{3 + i // 20}")
            senders.append(sender)
        reader.recv_until(f"s{len(senders) - 1} has joined the chat!", timeout=10)
        payload = b"x" * 65000
        burst = frame(payload) * 2   # two messages each: well inside flood control's burst of 20
        # Freeze the daemon between turns so that every burst is read in the same turn.
        os.kill(self.daemon.process.pid, signal.SIGSTOP)
        try:
            for sender in senders:
                sender.sock.setblocking(False)
                try:
                    sender.sock.send(burst)
                except BlockingIOError:
                    pass
        finally:
            os.kill(self.daemon.process.pid, signal.SIGCONT)
        # 40 members x ~128 KiB read in one turn is ~5 MiB for every member: over the default 4 MiB
        # bound before a byte of it was written, though the reader reads as fast as it comes.
        def read_whole_frame(sock, deadline):
            # 65 KB frames arrive in pieces: read exactly, unlike the original client's recv.
            def exactly(n):
                data = b""
                while len(data) < n:
                    sock.settimeout(max(deadline - time.monotonic(), 0.001))
                    chunk = sock.recv(n - len(data))
                    if not chunk:
                        return None
                    data += chunk
                return data
            header = exactly(64)
            return None if header is None else exactly(int(header))

        deadline = time.monotonic() + 20
        for count in range(2 * len(senders)):
            if read_whole_frame(reader.sock, deadline) is None:
                line = self.daemon.wait_for_log(r"disconnected reader: .*", timeout=5).group(0)
                self.fail(f"the server cut a member that was reading, after {count} frames: {line}")


if __name__ == "__main__":
    unittest.main()
