"""Join/leave churn past flood control, mutes and slowmode (issue 10, finding 3).

- join-churn: one address, 32 connections, each sending `NICK:chN` and `!DC` in one write,
  reading until the server closes, and starting again. Flood control counts lines a
  member sends, and a connection that joins and leaves sends none, so every cycle may
  become two lines on every member's screen. The innocent member is the bystander; its
  received lines per second during the storm are the figure.
- muted-rejoin: an admin mutes VISIT-0 (/mute); the muted address reconnects as VISIT-1,
  VISIT-2, ... and says something each time. Does its join notice, or its line, reach
  the room?
"""

import collections
import socket
import time

from cycles import Cycler
from harness import (ADMIN_ADDRESS, ADMIN_PASSWORD, AttackDaemon, FdSampler, InnocentProcess, Scenario,
                     lines_per_second, source_address, stop_daemon)
from loadclients import frame
from original_client import OriginalClient
from scenario_login import AFTERMATH_SECONDS, BASELINE_SECONDS, judge_innocent, quiet
import texts

FEW_LINES_AVERAGE = 5      # "at most a few lines a second", averaged over the storm
FEW_LINES_PEAK = 20        # ... and in its busiest second
CHURN_SLOTS = 32
VISITOR = "VISIT-"
REPLY_DEADLINE = 5.0


def join_churn(options):
    scenario = Scenario("join-churn")
    daemon = AttackDaemon()
    daemon.start()
    outcomes = collections.Counter()
    refusals = collections.Counter()

    def finished(n, frames, seconds):
        if texts.joined(f"ch{n}") in frames:
            outcomes["joined"] += 1
        elif frames:
            outcomes["refused"] += 1
            refusals[frames[0][:80]] += 1
        else:
            outcomes["closed silently"] += 1
    try:
        with FdSampler(daemon.pid) as fds:
            innocent = InnocentProcess(daemon.port)
            quiet(BASELINE_SECONDS)
            source = source_address(14, 0)
            cycler = Cycler(daemon.port, CHURN_SLOTS, source=lambda n: source,
                            payload=lambda n: frame(f"{texts.NICK_PREFIX}ch{n}") + frame(texts.DISCONNECT),
                            finished=finished)
            start = time.monotonic()
            spent = cycler.run(options.attack_seconds, max_cycles=500_000)
            end = time.monotonic()
            quiet(AFTERMATH_SECONDS)
            result = innocent.stop()
        counts = daemon.event_counts()
        rate = lines_per_second(result, start, end)
        scenario.figures.update(
            slots=CHURN_SLOTS, attack_s=round(spent, 1), cycles=cycler.completed, outcomes=dict(outcomes),
            joins_per_s=round(outcomes["joined"] / spent, 1), refusals=dict(refusals.most_common(3)),
            stuck=cycler.stuck, connect_errors=cycler.connect_errors, bystander_lines_per_s=rate, peak_fds=fds.peak,
            log=dict(join=counts["join"], leave=counts["leave"], connection_limit=counts["connection-limit"]))
        scenario.check(f"bystander gets <= {FEW_LINES_AVERAGE} lines/s on average (got {rate['average']})",
                       rate["average"] <= FEW_LINES_AVERAGE)
        scenario.check(f"bystander gets <= {FEW_LINES_PEAK} lines in any second (got {rate['peak']})",
                       rate["peak"] <= FEW_LINES_PEAK)
        judge_innocent(scenario, result, start, end, gate_latency=False)
    finally:
        stop_daemon(daemon, scenario)
    return scenario.finish()


def muted_rejoin(options):
    scenario = Scenario("muted-rejoin")
    daemon = AttackDaemon()
    daemon.start()
    clients = []

    def connect(source):
        client = OriginalClient.connect(daemon.port, source=source, timeout=REPLY_DEADLINE)
        client.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)   # header and payload go separately
        clients.append(client)
        return client
    visits = []   # per rejoin: what the muted visitor saw
    try:
        innocent = InnocentProcess(daemon.port, watch=[VISITOR])
        admin = connect(ADMIN_ADDRESS)
        admin.login_admin(ADMIN_PASSWORD)
        admin.recv_until(texts.CONNECTED)
        source = source_address(15, 0)
        visitor = connect(source)
        visitor.join(f"{VISITOR}0")
        visitor.recv_until(texts.joined(f"{VISITOR}0"))
        admin.send(f"/mute {VISITOR}0 10m attack test")
        admin.recv_until(lambda text: text.startswith(f"{VISITOR}0{texts.MUTED_INFIX}"))
        visitor.disconnect()
        start = time.monotonic()
        for k in range(1, options.rejoins + 1):
            visits.append(rejoin(connect(source), f"{VISITOR}{k}"))
        end = time.monotonic()
        result = innocent.stop()
        rejoined = [f"{VISITOR}{k}" for k in range(1, options.rejoins + 1)]
        # Anything naming a nick the muted address chose is that address speaking to the room.
        leaked = [text for _, text in result["watched"] if any(nick_in(nick, text) for nick in rejoined)]
        kinds = collections.Counter(kind_of(text) for text in leaked)
        scenario.figures.update(
            rejoins=options.rejoins, admitted=sum(v["connected"] for v in visits), attack_s=round(end - start, 1),
            muted_joins_seen=kinds["join"], muted_leaves_seen=kinds["leave"], muted_lines_seen=kinds["line"],
            muted_other_seen=kinds["other"], examples=leaked[:3],
            visitor_replies=collections.Counter(v["reply"] for v in visits).most_common(3),
            innocent_end_barrier=result["end_echo"])
        scenario.check("the innocent's end barrier came back", result["end_echo"])
        scenario.check(f"nothing naming the muted address's new nicks reached the room ({dict(kinds)})", not leaked)
        scenario.check("innocent not disconnected", not result["disconnected"])
    except (AssertionError, OSError, socket.timeout) as error:
        scenario.figures["error"] = str(error)[:300]
        scenario.check("scenario ran", False)
    finally:
        for client in clients:
            client.close()
        stop_daemon(daemon, scenario)
    return scenario.finish()


def nick_in(nick, text):
    """Whether `text` names `nick` as a whole word (VISIT-1 is not in VISIT-10)."""
    at = text.find(nick)
    while at >= 0:
        after = text[at + len(nick):at + len(nick) + 1]
        if not (after.isalnum() or after in "-_"):
            return True
        at = text.find(nick, at + 1)
    return False


def kind_of(text):
    if text.endswith(texts.JOINED_SUFFIX):
        return "join"
    if text.startswith(texts.LEFT_PREFIX):
        return "leave"
    if texts.CHAT_SEPARATOR in text and text.startswith(VISITOR):
        return "line"
    return "other"


def rejoin(client, nick):
    """The muted address joins as `nick`, speaks, leaves. Each step waits for the reply
    that proves the daemon handled it (so the innocent's later barrier comes after)."""
    seen = {"connected": False, "reply": None}
    client.join(nick)
    try:
        frames = client.recv_until(lambda text: text == texts.CONNECTED)
    except AssertionError:
        seen["reply"] = "refused or silent"
        return seen
    seen["connected"] = True
    line = f"hello from {nick}"
    client.send(line)
    try:
        frames = client.recv_until(lambda text: text == texts.chat_line(nick, line) or "mute" in text.lower())
        seen["reply"] = "relayed" if frames[-1] == texts.chat_line(nick, line) else frames[-1][:60]
    except AssertionError:
        seen["reply"] = "no reply"
    client.disconnect()
    return seen
