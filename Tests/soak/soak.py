#!/usr/bin/env python3
"""Soak: a bounded mixed workload against a release chatroomd it spawns (`make soak`).

For --seconds (default $SOAK_SECONDS or 600) one thread drives, on one selector:

- an admin who reads everything (its sequence of chat lines is the server's order),
  kicks churners, bans troublemakers for 15 s by nick, and whose bans are probed: a
  connection from the banned address must be refused, and admitted once the ban expired;
- epochs of observers: well-behaved members who join, chat, read everything, and at the
  end of each epoch (after two barriers from the admin) must hold one contiguous slice of
  the admin's sequence containing every message a reliable member sent after they joined;
- churners: join, chat politely, leave with !DC, a clean close, or a reset;
- troublemakers (from their own 127.0.0.x addresses): flooders, slow readers with a
  4 KiB receive buffer that stop reading for 5-40 s, garbage headers and invalid UTF-8,
  disconnects in the middle of a frame;
- SIGHUP every ~15 s (a reload must not disturb anyone).

Every second it samples the daemon's VmRSS and open descriptors. At the end: the daemon
is alive, every check held, RSS stayed under the bound computed from the limits (start
RSS + peak connections x (send-queue bound + one frame + 64 KiB) + the history's worst
case), the descriptor count returns to its start value once all clients are gone, and
SIGTERM makes it exit 0. Prints its figures as one JSON line; exits 1 on any failure.

Traffic goes to 127.0.0.0/8 only; every loop is bounded in time.
"""

import argparse
import json
import os
import random
import select
import signal
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "python"))

from chatroomd_fixture import ADMIN_PASSWORD, Daemon  # noqa: E402
from loadclients import Client, Loop, frame  # noqa: E402
from original_client import HEADER, encode_header  # noqa: E402

SEND_QUEUE_BYTES = 512 * 1024
MAX_FRAME_BYTES = 64 * 1024
HISTORY_LINES = 50
BAN_SECONDS = 15
EPOCH_SECONDS = 30
DRAIN_DEADLINE = 30.0

TOO_FAST = "You are sending messages too fast; that one was not delivered."
FLOODED = "You have been disconnected for flooding."
BANNED = "You are banned from this server."

ADMIN_ADDRESS = "127.0.0.2"
OBSERVER_ADDRESSES = [f"127.0.0.{i}" for i in range(3, 6)]
CHURNER_ADDRESSES = [f"127.0.0.{i}" for i in range(10, 41)]
TROUBLE_ADDRESSES = [f"127.0.0.{i}" for i in range(41, 61)]


def proc_status_kib(pid, field="VmRSS"):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


class Soak:
    def __init__(self, seconds, seed, binary):
        self.seconds = seconds
        self.seed = seed
        self.rng = random.Random(seed)
        self.loop = Loop(self.rng)
        self.failures = []
        self.state_directory = tempfile.TemporaryDirectory(prefix="chatroomd-soak-")
        if binary:
            os.environ["CHATROOMD_BIN"] = binary
        self.daemon = Daemon(["--state-directory", self.state_directory.name,
                              "--max-send-queue-bytes", str(SEND_QUEUE_BYTES),
                              "--max-frame-bytes", str(MAX_FRAME_BYTES),
                              "--history-lines", str(HISTORY_LINES),
                              "--max-connections", "400"])
        self.names = 0
        self.stats = dict(connections_opened=0, observer_checks=0, kicks=0, bans=0, ban_refusals_verified=0,
                          ban_expiries_verified=0, reloads_sent=0, stallers=0, flooders=0, garbage=0, midframe=0,
                          churners=0)
        self.unreliable = set()     # nicks whose messages may legitimately be dropped
        self.rss_samples = []
        self.peak_fds = 0
        self.next_sample = 0.0
        self.probe_plan = []        # (when, "banned" or "expired", address)
        self.probes = []            # probe connections not judged yet
        self.bans = []              # (announced, expires, address)
        self.ban_targets = {}       # nick -> address, for bans not yet announced

    def fail(self, text):
        if len(self.failures) < 50:
            self.failures.append(text)

    def name(self, prefix):
        self.names += 1
        return f"{prefix}{self.names}"

    # MARK: Clients

    def client(self, prefix, role, source, rcvbuf=None, **extra):
        client = Client(self.loop, self.name(prefix), role, source, keep_frames=64, **extra)
        client.connect(self.daemon.port, rcvbuf=rcvbuf)
        self.stats["connections_opened"] += 1
        return client

    def join(self, client, then):
        client.send_bytes(frame(f"NICK:{client.nick}"))
        client.then = then
        client.next_action = time.monotonic() + 0.05
        client.act = self.wait_join

    def wait_join(self, client, now):
        if client.joined_at is not None:
            client.act = client.then
            client.act(client, now)
        elif not client.closed:
            client.next_action = now + 0.05

    def polite(self):
        return self.rng.uniform(0.2, 1.0)

    def spawn_churner(self, now):
        self.stats["churners"] += 1
        c = self.client("ch", "churner", self.rng.choice(CHURNER_ADDRESSES))
        c.end_at = now + self.rng.uniform(2, 20)
        c.ending = self.rng.choice(["dc", "dc", "close", "reset"])

        def chat(c, now):
            if c.closed:
                return
            if now >= c.end_at or now >= self.stop_chatting:
                if c.ending == "dc":
                    c.send_bytes(frame("!DC"))
                    c.left_at = time.monotonic()
                    c.act = lambda c, now: None
                    return
                if c.ending == "reset":
                    self.unreliable.add(c.nick)   # a reset may discard what the server had not read
                self.loop.close(c, reset=c.ending == "reset")
                return
            c.say(20, 1500)
            c.next_action = min(c.end_at, now + self.polite())
        self.join(c, chat)

    def spawn_observer(self, now):
        c = self.client("ob", "observer", self.rng.choice(OBSERVER_ADDRESSES))

        def chat(c, now):
            if c.closed or now >= self.epoch_end or now >= self.stop_chatting:
                return
            c.say(20, 1500)
            c.next_action = now + self.polite()
        self.join(c, chat)
        return c

    def spawn_trouble(self, now):
        kind = self.rng.choice(["staller", "staller", "soft-flooder", "hard-flooder", "garbage", "midframe"])
        source = self.rng.choice(TROUBLE_ADDRESSES)
        c = self.client("tr", kind, source, rcvbuf=4096 if kind == "staller" else None)
        self.unreliable.add(c.nick)
        if kind == "garbage" and self.rng.random() < 0.4:
            self.stats["garbage"] += 1
            self.send_garbage(c)
            return
        if kind == "staller":
            self.stats["stallers"] += 1
            c.stall_at = now + self.rng.uniform(0.5, 5)
            c.stall_for = self.rng.uniform(5, 40)
            c.afterwards = self.rng.choice(["resume", "vanish", "reset"])
            c.end_at = c.stall_at + c.stall_for + self.rng.uniform(1, 10)
        elif kind.endswith("flooder"):
            self.stats["flooders"] += 1
            c.end_at = now + self.rng.uniform(2, 15)
        else:
            c.end_at = now + self.rng.uniform(0.5, 5)

        def behave(c, now):
            if c.closed:
                return
            if now >= c.end_at or now >= self.stop_chatting:
                self.loop.close(c, reset=self.rng.random() < 0.5)
                return
            if c.role == "staller":
                if c.reading and c.stall_for and now >= c.stall_at:
                    c.reading = False
                    self.loop.update_interest(c)
                    c.next_action = now + c.stall_for
                    c.stall_for = 0
                    return
                if not c.reading:
                    if c.afterwards == "resume":
                        c.reading = True
                        self.loop.update_interest(c)
                    else:
                        self.loop.close(c, reset=c.afterwards == "reset")
                        return
                c.say(20, 1500)
                c.next_action = now + self.polite()
            elif c.role == "hard-flooder":
                for _ in range(200):
                    if len(c.outbuf) >= 65536 or c.closed:
                        break
                    c.say(20, 2000)
                c.next_action = now + 0.01
            elif c.role == "soft-flooder":
                c.say(20, 2000)
                c.next_action = now + 1 / 30
            elif c.role == "garbage":
                self.stats["garbage"] += 1
                self.send_garbage(c)
            else:  # midframe
                self.stats["midframe"] += 1
                c.say(20, 1500)
                c.send_bytes(encode_header(1000) + b"partial" if self.rng.random() < 0.5 else b"12   ")
                self.loop.close(c, reset=self.rng.random() < 0.5)
        self.join(c, behave)

    def send_garbage(self, c):
        kind = self.rng.choice(["malformed", "utf8", "oversize", "overflow", "space-digit"])
        c.send_bytes({
            "malformed": b"abc".ljust(HEADER, b" "),
            "utf8": encode_header(5) + b"\xff\xfe\xed\xa0\x80",
            "oversize": encode_header(MAX_FRAME_BYTES + 1),
            "overflow": b"9" * HEADER,
            "space-digit": b"1 2".ljust(HEADER, b" "),
        }[kind])
        c.garbage = kind
        c.act = lambda c, now: None

    # MARK: The admin

    def admin_kick(self):
        churners = [c for c in self.loop.clients
                    if c.role == "churner" and not c.closed and c.joined_at is not None and c.left_at is None]
        if not churners:
            return
        target = self.rng.choice(churners)
        self.unreliable.add(target.nick)
        self.admin.send_bytes(frame(f"/kick {target.nick}"))

    def admin_ban(self, now):
        trouble = [c for c in self.loop.clients
                   if c.source in TROUBLE_ADDRESSES and not c.closed and c.joined_at is not None]
        if not trouble:
            return
        target = self.rng.choice(trouble)
        self.admin.send_bytes(frame(f"/ban {target.nick} {BAN_SECONDS}s soak"))
        self.ban_targets[target.nick] = target.source

    def on_admin_text(self, admin, text):
        """Bans and kicks count once the admin sees them announced."""
        nick, sep, rest = text.partition(" has been ")
        if not sep:
            return
        if rest.startswith("banned from the server") and nick in self.ban_targets:
            now = time.monotonic()
            source = self.ban_targets.pop(nick)
            self.stats["bans"] += 1
            self.bans.append((now, now + BAN_SECONDS, source))
            # Probe the address while the ban holds, and again once it has expired.
            self.probe_plan.append((now + 2, "banned", source))
            self.probe_plan.append((now + BAN_SECONDS + 3, "expired", source))
        elif rest.startswith("kicked from the server"):
            self.stats["kicks"] += 1

    def run_probes(self, now):
        due = [p for p in self.probe_plan if p[0] <= now]
        self.probe_plan = [p for p in self.probe_plan if p[0] > now]
        for _, kind, source in due:
            probe = self.client("pr", "probe", source)
            self.unreliable.add(probe.nick)
            probe.kind = kind
            probe.started = now
            probe.act = lambda c, now: None
            if kind == "expired":
                probe.send_bytes(frame(f"NICK:{probe.nick}"))
            self.probes.append(probe)
        for probe in list(self.probes):
            finished = probe.closed or probe.joined_at is not None or now >= probe.started + 10
            if finished:
                self.probes.remove(probe)
                self.judge_probe(probe)

    def judge_probe(self, probe):
        frames = list(probe.frames)
        active = self.ban_active(probe.source, probe.started)
        if probe.kind == "banned":
            if frames[:1] == [BANNED] and probe.eof:
                self.stats["ban_refusals_verified"] += 1
            else:
                self.fail(f"a connection from banned {probe.source} got {frames[:2]} (closed: {probe.eof})")
        elif probe.joined_at is not None:
            self.stats["ban_expiries_verified"] += 1
        elif not (frames[:1] == [BANNED] and active):   # unless banned again since
            self.fail(f"after its ban expired, {probe.source} got {frames[:2]} (closed: {probe.eof})")
        self.loop.close(probe)

    def ban_active(self, source, at):
        """Whether a ban of `source` may still hold at `at` (expiry waits for the next tick)."""
        return any(s == source and start - 1 <= at < end + 2 for start, end, s in self.bans)

    # MARK: Running

    def sample(self, now):
        pid = self.daemon.process.pid
        if self.daemon.process.poll() is not None:
            raise RuntimeError(f"chatroomd died with status {self.daemon.process.returncode}")
        self.rss_samples.append(proc_status_kib(pid))
        self.peak_fds = max(self.peak_fds, fd_count(pid))
        self.next_sample = now + 1.0

    def pump(self, seconds, done=lambda: False):
        """Runs the loop for up to `seconds`, sampling every second."""
        until = time.monotonic() + seconds
        while True:
            now = time.monotonic()
            if now >= self.next_sample:
                self.sample(now)
            if now >= until or done():
                return
            self.loop.pump(min(until, self.next_sample), done)

    def barrier_check(self, observers):
        """Two barriers from the admin, then each observer must hold a contiguous slice of
        the admin's sequence up to the second, with every reliable message sent after it
        joined."""
        stayers = [c for c in observers if not c.closed and c.joined_at is not None]
        barriers = []
        for _ in (1, 2):
            key = self.admin.say(10, 20)
            barriers.append((key, time.monotonic()))
            self.pump(DRAIN_DEADLINE, lambda: all(key in c.chat for c in stayers + [self.admin]))
            missing = [c.nick for c in stayers + [self.admin] if key not in c.chat]
            if missing:
                self.fail(f"barrier {key} did not reach {missing} within {DRAIN_DEADLINE} s")
                return
        reference = self.admin.chat
        position = {key: i for i, key in enumerate(reference)}
        end = position[barriers[1][0]]
        first_barrier_sent = barriers[0][1]
        for c in stayers:
            seq = c.chat[:c.chat.index(barriers[1][0]) + 1]
            if len(set(seq)) != len(seq):
                self.fail(f"{c.nick} got a message twice")
                continue
            if not seq or seq[0] not in position:
                self.fail(f"{c.nick}'s first message {seq[:1]} is not in the admin's sequence")
                continue
            start = position[seq[0]]
            if reference[start:end + 1] != seq:
                self.fail(f"{c.nick}'s sequence ({len(seq)} lines) is not the admin's from {start} to {end}")
                continue
            have = set(seq)
            lost = [key for key, (sender, sent_at) in self.loop.sent.items()
                    if c.joined_at < sent_at < first_barrier_sent and sender.nick not in self.unreliable
                    and key not in have]
            if lost:
                self.fail(f"{c.nick} (joined at {c.joined_at - self.started:.1f} s) lost {len(lost)} messages, "
                          f"first {lost[:3]}")
            refused = [f for f in c.frames if f in (TOO_FAST, FLOODED) or f.startswith("Slowmode is on")]
            if refused:
                self.fail(f"well-behaved {c.nick} was refused: {refused[:2]}")
            self.stats["observer_checks"] += 1

    def run(self):
        self.daemon.start()
        pid = self.daemon.process.pid
        self.started = time.monotonic()
        end = self.started + self.seconds
        self.stop_chatting = end
        fds_start = fd_count(pid)
        rss_start = proc_status_kib(pid)
        self.sample(self.started)

        admin = Client(self.loop, "admin", "admin", ADMIN_ADDRESS, join_notice="An admin has joined the chat!",
                       keep_frames=256)
        admin.connect(self.daemon.port)
        admin.send_bytes(frame(f"admin:{ADMIN_PASSWORD}"))
        admin.act = lambda c, now: None
        admin.on_text = self.on_admin_text
        self.admin = admin
        self.pump(10, lambda: admin.joined_at is not None)
        if admin.joined_at is None:
            raise RuntimeError("the admin could not log in: " + str(list(admin.frames)))

        next_churner = next_trouble = next_kick = time.monotonic()
        next_ban = time.monotonic() + 5
        next_reload = time.monotonic() + 15
        epochs = 0
        while time.monotonic() < end - 5:
            epochs += 1
            self.epoch_end = min(end - 5, time.monotonic() + EPOCH_SECONDS)
            observers = [self.spawn_observer(time.monotonic()) for _ in range(6)]
            while time.monotonic() < self.epoch_end:
                now = time.monotonic()
                if now >= next_churner:
                    self.spawn_churner(now)
                    next_churner = now + self.rng.expovariate(1.0)
                if now >= next_trouble:
                    self.spawn_trouble(now)
                    next_trouble = now + self.rng.expovariate(0.5)
                if now >= next_kick:
                    self.admin_kick()
                    next_kick = now + self.rng.uniform(2, 6)
                if now >= next_ban:
                    self.admin_ban(now)
                    next_ban = now + self.rng.uniform(8, 16)
                if now >= next_reload:
                    self.daemon.send_signal(signal.SIGHUP)
                    self.stats["reloads_sent"] += 1
                    next_reload = now + self.rng.uniform(10, 20)
                self.run_probes(now)
                self.pump(0.1)
                self.loop.forget_closed()
            # The epoch ends: observers finish writing, then the barriers and the check.
            self.pump(DRAIN_DEADLINE, lambda: all(not c.outbuf or c.closed for c in observers))
            self.barrier_check(observers)
            for c in observers:
                if not c.closed:
                    c.send_bytes(frame("!DC"))
                    c.left_at = time.monotonic()
            self.pump(DRAIN_DEADLINE, lambda: all(c.eof or c.closed for c in observers))
            cut = [c.nick for c in observers if c.eof and c.left_at is None]
            if cut:
                self.fail(f"observers were cut by the server: {cut}")

        # Wind down: no new chat; pending probes are judged; everyone leaves.
        self.stop_chatting = time.monotonic()
        while self.probes:
            self.pump(0.1)
            self.run_probes(time.monotonic())
        for c in list(self.loop.clients):
            if c is not admin and not c.closed:
                self.loop.close(c)
        # Every reliable message ever sent reached the admin.
        final = admin.say(10, 20)
        self.pump(DRAIN_DEADLINE, lambda: final in admin.chat)
        in_order = set(admin.chat)
        if len(in_order) != len(admin.chat):
            self.fail("the admin got a message twice")
        lost = [key for key, (sender, _) in self.loop.sent.items()
                if sender.nick not in self.unreliable and key not in in_order]
        if lost:
            self.fail(f"{len(lost)} messages from reliable members never reached the admin, first {lost[:3]}")
        cut = [f for f in admin.frames if f.startswith("You have been") or f == TOO_FAST]
        if cut or admin.eof:
            self.fail(f"the admin was refused or cut: {cut}")
        admin.send_bytes(frame("!DC"))
        admin.left_at = time.monotonic()
        self.pump(DRAIN_DEADLINE, lambda: admin.eof)
        self.loop.close_all()

        # The daemon lets go of every connection: its descriptors return to the start value.
        # (The client loop is closed now, so wait on the daemon alone.)
        wait_until(15, lambda: fd_count(pid) <= fds_start)
        fds_end = fd_count(pid)
        if fds_end != fds_start:
            self.fail(f"open descriptors: {fds_start} at start, {fds_end} after every client left")
        rss_end = proc_status_kib(pid)
        rss_max = max(self.rss_samples + [rss_end])
        rss_hwm = proc_status_kib(pid, "VmHWM")
        peak_connections = max(self.peak_fds - fds_start, 1)
        rss_bound = (rss_start + peak_connections * (SEND_QUEUE_BYTES + MAX_FRAME_BYTES + 65536) // 1024
                     + HISTORY_LINES * MAX_FRAME_BYTES // 1024)
        if max(rss_max, rss_hwm) > rss_bound:
            self.fail(f"RSS peaked at {max(rss_max, rss_hwm)} KiB, over the bound of {rss_bound} KiB")

        log = self.daemon.stderr_lines
        reloads = sum("configuration reloaded" in line for line in log)
        if reloads != self.stats["reloads_sent"]:
            self.fail(f"{self.stats['reloads_sent']} SIGHUPs sent, {reloads} reloads logged")
        crashes = [line for line in log if "Fatal error" in line or "Crash" in line]
        if crashes:
            self.fail(f"the daemon logged: {crashes[:3]}")
        status = self.daemon.stop()
        if status != 0:
            self.fail(f"chatroomd exited {status} after SIGTERM")
        # The daemon counts, at stop, timers still pending besides its repeating ones.
        stop_lines = [line for line in self.daemon.stderr_lines if "chat_event=stop" in line]
        leaked_timers = None
        if stop_lines and "chat_leaked_timers=" in stop_lines[-1]:
            leaked_timers = int(stop_lines[-1].split("chat_leaked_timers=")[1].split()[0])
        if leaked_timers != 0:
            self.fail(f"timers left behind at stop: {leaked_timers} ({stop_lines[-1:] })")

        def count(text):
            return sum(text in line for line in log)
        figures = dict(
            ok=not self.failures, seconds=round(time.monotonic() - self.started, 1), seed=self.seed, epochs=epochs,
            **self.stats,
            reloads_logged=reloads,
            chat_lines_in_order=len(admin.chat), messages_sent=len(self.loop.sent),
            protocol_errors=count("chat_event=protocol-error"), flood_disconnects=count("chat_event=flood-disconnect"),
            send_queue_cuts=count("chat_event=send-queue-exceeded"), banned_refused=count("banned-connection-refused"),
            rss_kib=dict(start=rss_start, max=rss_max, hwm=rss_hwm, end=rss_end, bound=rss_bound),
            fds=dict(start=fds_start, peak=self.peak_fds, end=fds_end), peak_connections=peak_connections,
            send_queue_bytes=SEND_QUEUE_BYTES, exit_status=status, leaked_timers=leaked_timers, failures=self.failures,
        )
        return figures


def wait_until(seconds, done):
    """Polls `done` every 20 ms until it holds or `seconds` pass."""
    until = time.monotonic() + seconds
    while not done() and time.monotonic() < until:
        select.select([], [], [], 0.02)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("SOAK_SECONDS", "600")))
    parser.add_argument("--seed", type=int, default=int(os.environ.get("SOAK_SEED", random.SystemRandom().randrange(1 << 32))))
    parser.add_argument("--binary", default=os.environ.get("CHATROOMD_BIN"),
                        help="the chatroomd to run (default $CHATROOMD_BIN, else .build/release/chatroomd)")
    args = parser.parse_args()
    binary = args.binary or str(HERE.parents[1] / ".build" / "release" / "chatroomd")
    if args.seconds < 20:
        parser.error("--seconds must be at least 20")
    soak = Soak(args.seconds, args.seed, binary)
    try:
        figures = soak.run()
    except Exception as error:
        figures = dict(ok=False, seed=args.seed, error=f"{type(error).__name__}: {error}", failures=soak.failures)
        soak.daemon.kill()
    print(json.dumps(figures, sort_keys=False))
    sys.exit(0 if figures.get("ok") else 1)


if __name__ == "__main__":
    main()
