#!/usr/bin/env python3
"""chatroomd under a real systemd: runs INSIDE a sandbox booted by sandbox.sh, as root,
after e2e.sh has unpacked `make install DESTDIR=...` into the sandbox's root.

Each check prints PASS or FAIL; the last line is "e2e: N passed, M failed"; the exit code
is non-zero if anything failed. Every wait is a poll with a deadline.
"""
import json
import os
import re
import select
import socket
import subprocess
import sys
import time

UNIT_DIR = sys.argv[1] if len(sys.argv) > 1 else "/lib/systemd/system"
ADMIN_PASSWORD = "s3cret-admin"
RESTORED_AFTER_FAILURE = ("The server restarted after a failure and kept your connection; "
                          "lines sent in its last moments may be lost.")
MESSAGE_IDS = {}  # filled from ChatEvent.swift by e2e.sh through the environment
for pair in os.environ.get("CHATROOMD_MESSAGE_IDS", "").split(","):
    if "=" in pair:
        event, mid = pair.split("=", 1)
        MESSAGE_IDS[event] = mid

passed = 0
failed = 0


def check(condition, what, detail=""):
    global passed, failed
    if condition:
        passed += 1
        print(f"PASS: {what}", flush=True)
    else:
        failed += 1
        print(f"FAIL: {what}" + (f"\n      {detail}" if detail else ""), flush=True)
    return condition


def run(*command, check_exit=False):
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    if check_exit and result.returncode != 0:
        print(f"command failed: {' '.join(command)}\n{result.stdout}{result.stderr}", flush=True)
    return result


def wait_until(predicate, timeout=20, interval=0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            return value
        select.select([], [], [], interval)  # poll interval inside a deadline loop


def show(unit, prop):
    return run("systemctl", "show", "-p", prop, "--value", unit).stdout.strip()


def frame(text):
    payload = text.encode()
    return str(len(payload)).encode().ljust(64) + payload


class Client:
    def __init__(self, source="127.0.0.1", port=12000, sock=None):
        """A plaintext connection, or `sock` as it is (a TLS one, say)."""
        self.sock = sock or socket.create_connection(("127.0.0.1", port), timeout=15, source_address=(source, 0))

    def send(self, text):
        self.sock.sendall(frame(text))

    def receive(self, timeout=15):
        deadline = time.monotonic() + timeout

        def exactly(n):
            data = b""
            while len(data) < n:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError("no frame in time")
                self.sock.settimeout(remaining)
                chunk = self.sock.recv(n - len(data))
                if not chunk:
                    return None
                data += chunk
            return data
        header = exactly(64)
        if header is None:
            return None
        payload = exactly(int(header))
        return None if payload is None else payload.decode()

    def expect(self, text, what):
        try:
            got = self.receive()
        except (TimeoutError, OSError) as error:
            got = f"<{error}>"
        return check(got == text, what, f"expected {text!r}, got {got!r}")

    def close(self):
        self.sock.close()


def join(nick, source="127.0.0.1"):
    """Joins; the history replayed between the welcome and the join line is kept in
    `client.history`."""
    client = Client(source)
    client.send(f"NICK:{nick}")
    client.expect("Connected to the server", f"{nick} joins")
    client.history = []
    while True:
        try:
            line = client.receive()
        except (TimeoutError, OSError) as error:
            line = f"<{error}>"
        if line is not None and line.startswith("[history "):
            client.history.append(line)
            continue
        check(line == f"{nick} has joined the chat!", f"{nick} sees their own join", f"got {line!r}")
        return client


def journal_entries():
    output = run("journalctl", "-u", "chatroomd.service", "-o", "json", "--no-pager").stdout
    entries = []
    for line in output.splitlines():
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError:
            pass
    return entries


def find_entry(**fields):
    def matching():
        for entry in journal_entries():
            if all(entry.get(k) == v for k, v in fields.items()):
                return entry
        return None
    return wait_until(matching, timeout=10)


def main():
    # 7. The shipped units verify cleanly.
    verify = run("systemd-analyze", "verify", f"{UNIT_DIR}/chatroomd.service", f"{UNIT_DIR}/chatroomd.socket",
                 f"{UNIT_DIR}/chatroomd-standalone.service")
    check(verify.returncode == 0 and verify.stderr.strip() == "",
          "systemd-analyze verify of chatroomd.service, chatroomd.socket and chatroomd-standalone.service is clean",
          verify.stdout + verify.stderr)

    # 6. Exposure of the shipped unit.
    security = run("systemd-analyze", "security", "--offline=true", "--no-pager", f"{UNIT_DIR}/chatroomd.service")
    match = re.search(r"Overall exposure level for chatroomd.service: ([0-9.]+)", security.stdout)
    exposure = float(match.group(1)) if match else 99
    check(exposure <= 1.0, f"systemd-analyze security --offline=true exposure {exposure} <= 1.0", security.stdout[-400:])
    security = run("systemd-analyze", "security", "--offline=true", "--no-pager", f"{UNIT_DIR}/chatroomd-standalone.service")
    match = re.search(r"Overall exposure level for chatroomd-standalone.service: ([0-9.]+)", security.stdout)
    exposure = float(match.group(1)) if match else 99
    check(exposure <= 1.5, f"the self-binding unit's exposure {exposure} <= 1.5", security.stdout[-400:])

    # 1. Socket activation: the socket is listening, the service is not running yet.
    run("systemctl", "start", "chatroomd.socket", check_exit=True)
    check(show("chatroomd.socket", "ActiveState") == "active", "chatroomd.socket is active")
    check(show("chatroomd.service", "ActiveState") == "inactive", "chatroomd.service waits for the first connection")

    alice = join("alice")
    check(wait_until(lambda: show("chatroomd.service", "SubState") == "running") , "the first connection activated chatroomd.service (running after READY=1)")
    check(show("chatroomd.service", "Type") == "notify", "the service is Type=notify")
    status = wait_until(lambda: "1 member online" in show("chatroomd.service", "StatusText") and show("chatroomd.service", "StatusText"))
    check(bool(status), "systemctl show -p StatusText reports the member count", show("chatroomd.service", "StatusText"))

    # 6. Hardening in practice: a dynamic user, the credential readable, the state directory writable.
    main_pid = show("chatroomd.service", "MainPID")
    uid = None
    with open(f"/proc/{main_pid}/status") as status_file:
        for line in status_file:
            if line.startswith("Uid:"):
                uid = int(line.split()[1])
    check(uid is not None and uid != 0, f"the daemon runs as a dynamic user (uid {uid})")

    admin = Client()
    admin.send(f"admin:{ADMIN_PASSWORD}")
    admin.expect("Connected to the server", "admin logs in with the password from the LoadCredential= credential")
    admin.expect("An admin has joined the chat!", "admin join is announced to the admin")
    alice.expect("An admin has joined the chat!", "admin join is announced to alice")

    bob = join("bob", source="127.0.0.2")
    alice.expect("bob has joined the chat!", "alice sees bob join")
    admin.expect("bob has joined the chat!", "admin sees bob join")
    alice.send("hello from alice")
    for client, name in ((alice, "alice"), (admin, "admin"), (bob, "bob")):
        client.expect("alice: hello from alice", f"{name} receives alice's message")

    admin.send("/kick bob")
    bob.expect("You have been kicked by an admin.", "bob is told he was kicked")
    alice.expect("bob has been kicked from the server.", "alice sees the kick")
    admin.expect("bob has been kicked from the server.", "admin sees the kick")
    bob.close()

    mallory = join("mallory", source="127.0.0.2")
    alice.expect("mallory has joined the chat!", "alice sees mallory join")
    admin.expect("mallory has joined the chat!", "admin sees mallory join")
    admin.send("/ban mallory")
    mallory.expect("You have been banned by an admin.", "mallory is told she was banned")
    alice.expect("mallory has been banned from the server.", "alice sees the ban")
    admin.expect("mallory has been banned from the server.", "admin sees the ban")
    mallory.close()
    bans_path = "/var/lib/chatroomd/sanctions.json"
    bans = wait_until(lambda: os.path.exists(bans_path) and open(bans_path).read())
    check(bool(bans) and "127.0.0.2" in bans, "the ban was written to the StateDirectory (/var/lib/chatroomd/sanctions.json)", repr(bans)[:300])
    check(os.path.realpath("/var/lib/chatroomd").startswith("/var/lib/private/"), "the state directory is DynamicUser's private one")

    # 2. Structured journal entries with CHAT_* fields and MESSAGE_IDs.
    for event, fields in (("join", {"CHAT_NICK": "alice"}),
                          ("message", {"CHAT_NICK": "alice", "PRIORITY": "7"}),
                          ("kick", {"CHAT_TARGET": "bob", "CHAT_BY": "admin"}),
                          ("ban", {"CHAT_TARGET": "mallory", "CHAT_BY": "admin", "CHAT_ADDRESS": "127.0.0.2"}),
                          ("admin-login", {"CHAT_NICK": "admin"})):
        entry = find_entry(CHAT_EVENT=event, **fields)
        check(entry is not None, f"journal has CHAT_EVENT={event} with {fields}")
        if entry is not None:
            check(entry.get("MESSAGE_ID") == MESSAGE_IDS.get(event), f"CHAT_EVENT={event} carries MESSAGE_ID {MESSAGE_IDS.get(event)}",
                  f"got {entry.get('MESSAGE_ID')}")
            check(entry.get("SYSLOG_IDENTIFIER") == "chatroomd" and "CODE_FILE" in entry and "CHAT_PEER" in entry or event == "message" and "CODE_FILE" in entry,
                  f"CHAT_EVENT={event} has SYSLOG_IDENTIFIER, CODE_FILE and the peer", json.dumps(entry)[:300])
    message = find_entry(CHAT_EVENT="message")
    check(message is not None and message.get("MESSAGE") == "alice: hello from alice", "the message body is logged at debug priority")
    explained = run("journalctl", "-x", "-u", "chatroomd.service", "--no-pager").stdout
    check("Defined-By: chatroomd" in explained, "journalctl -x shows the catalog's explanations", explained[-600:])
    listed = run("journalctl", "--list-catalog").stdout
    missing = sorted(event for event, mid in MESSAGE_IDS.items() if mid not in listed)
    check(bool(MESSAGE_IDS) and not missing, f"each of the {len(MESSAGE_IDS)} MESSAGE_IDs has an entry in the installed catalog",
          f"missing: {missing}")

    # 3. Reload: RELOADING=1 then READY=1, nobody dropped.
    reload = run("systemctl", "reload", "chatroomd.service")
    check(reload.returncode == 0, "systemctl reload chatroomd succeeds", reload.stderr)
    check(find_entry(CHAT_EVENT="reload") is not None, "the reload is logged with CHAT_EVENT=reload")
    check(show("chatroomd.service", "SubState") == "running", "the service is running after the reload")
    alice.send("after reload")
    alice.expect("alice: after reload", "alice is still connected after the reload")
    admin.expect("alice: after reload", "admin is still connected after the reload")

    # chatroomctl over the control socket in the RuntimeDirectory, as root.
    who = run("chatroomctl", "--json", "who")
    check(who.returncode == 0 and '"nick":"alice"' in who.stdout, "chatroomctl who lists alice through /run/chatroomd/control",
          who.stdout + who.stderr)
    said = run("chatroomctl", "say", "maintenance soon")
    check(said.returncode == 0, "chatroomctl say succeeds", said.stdout + said.stderr)
    alice.expect("[server] maintenance soon", "alice receives the server notice")
    admin.expect("[server] maintenance soon", "admin receives the server notice")
    check(find_entry(CHAT_EVENT="say", CHAT_BY="chatroomctl:root") is not None, "the journal names chatroomctl:root as the actor")

    # A planned restart: the daemon becomes the program at its own path in place, with every
    # connection; members stay, the main PID and the unit's invocation stay, systemd's
    # watchdog keeps being fed by the new program.
    before_pid = show("chatroomd.service", "MainPID")
    before_invocation = show("chatroomd.service", "InvocationID")
    restarted = run("chatroomctl", "restart")
    check(restarted.returncode == 0 and restarted.stdout.startswith("Restarted: "), "chatroomctl restart hands the connections over",
          restarted.stdout + restarted.stderr)
    check(show("chatroomd.service", "MainPID") == before_pid and show("chatroomd.service", "InvocationID") == before_invocation
          and show("chatroomd.service", "SubState") == "running",
          "the same main process and invocation run the new program",
          run("journalctl", "-u", "chatroomd.service", "--no-pager", "-n", "20").stdout)
    check(show("chatroomd.service", "NRestarts") == "0", "the unit was not restarted by systemd meanwhile")
    alice.send("after the handover")
    alice.expect("alice: after the handover", "alice is still connected after chatroomctl restart")
    admin.expect("alice: after the handover", "admin is still connected after chatroomctl restart")
    check(find_entry(CHAT_EVENT="handover-restored") is not None, "the new program logs what it took over")

    # 4. Watchdog: a stopped main loop is killed and restarted.
    old_pid = show("chatroomd.service", "MainPID")
    os.kill(int(old_pid), 19)  # SIGSTOP
    restarted = wait_until(lambda: int(show("chatroomd.service", "NRestarts") or 0) >= 1
                           and show("chatroomd.service", "SubState") == "running"
                           and show("chatroomd.service", "MainPID") not in ("0", old_pid), timeout=30)
    check(bool(restarted), "after SIGSTOP the watchdog fired and systemd restarted chatroomd",
          run("journalctl", "-u", "chatroomd.service", "--no-pager", "-n", "20").stdout)
    check("watchdog" in show("chatroomd.service", "Result") or "atchdog" in run("journalctl", "-u", "chatroomd.service", "--no-pager").stdout,
          "the journal records the watchdog timeout")
    # The connections were in systemd's file descriptor store: the watchdog's restart keeps them.
    alice.expect(RESTORED_AFTER_FAILURE, "alice is still connected after the watchdog's restart, and told what happened")
    admin.expect(RESTORED_AFTER_FAILURE, "so is admin")
    check(find_entry(CHAT_EVENT="crash-restored") is not None, "the new process logs what it restored from the crash journal")
    alice.send("after the watchdog")
    alice.expect("alice: after the watchdog", "alice chats on after the watchdog's restart")
    admin.expect("alice: after the watchdog", "admin hears her")
    alice.close()
    admin.close()
    carol = join("carol")
    check(any(line.endswith("alice: hello from alice") for line in carol.history),
          "history survived the restart (history.json in the state directory)", repr(carol.history))
    banned = Client(source="127.0.0.2")
    banned.send("NICK:innocent")
    banned.expect("You are banned from this server.", "the ban survived the restart (state directory)")
    banned.close()

    # 5. Stop: members hear the shutdown notice before the connection closes.
    stopper = subprocess.Popen(["systemctl", "stop", "chatroomd.service"])
    carol.expect("Server is shutting down.", "carol receives the shutdown notice on systemctl stop")
    try:
        closed = carol.receive() is None
    except (TimeoutError, OSError):
        closed = False
    check(closed, "then the connection closes")
    carol.close()
    check(stopper.wait(timeout=30) == 0, "systemctl stop returns success")
    check(show("chatroomd.service", "ActiveState") == "inactive", "chatroomd.service is inactive after stop")
    check(find_entry(CHAT_EVENT="stop") is not None, "the clean stop is logged")

    # TLS: chatroomd-tls.socket beside chatroomd.socket, credentials (Tests/systemd/e2e_tls.py).
    __import__("e2e_tls").run_checks(check, run, show, wait_until, find_entry, join, Client, UNIT_DIR)

    # The variant that binds its own sockets: readiness after bind, and it serves.
    run("systemctl", "stop", "chatroomd.socket", check_exit=True)
    started = run("systemctl", "start", "chatroomd-standalone.service")
    check(started.returncode == 0 and show("chatroomd-standalone.service", "SubState") == "running",
          "chatroomd-standalone.service starts (READY=1 after binding [::]:12000)", started.stderr)
    dave = join("dave")
    dave.send("standalone works")
    dave.expect("dave: standalone works", "a member chats through the self-binding unit")
    dave.close()
    check(run("systemctl", "stop", "chatroomd-standalone.service").returncode == 0, "the self-binding unit stops cleanly")

    print(f"e2e: {passed} passed, {failed} failed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
