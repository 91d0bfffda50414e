#!/usr/bin/env python3
"""The chatroomd Debian package under a real systemd: runs INSIDE a sandbox booted by
sandbox.sh (deb.sh), as root, on an overlay of the host's root, so dpkg's database and every
file it writes stay in the sandbox.

Usage: deb_inside.py V1.deb V1 V2.deb V2   (V2 > V1, both built by `make deb`)

install v1 -> upgrade to v2 (members chatting through it) -> reinstall v2 with the service
stopped -> downgrade to v1, whose state format is older (refused cleanly) -> remove -> purge.
Each check prints PASS or FAIL; exit code non-zero if anything failed. Every wait is a poll
with a deadline (wait_until).
"""
import json
import os
import re
import select
import socket
import stat
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e_inside as e2e  # noqa: E402  (check, run, wait_until, show, Client, join)
from e2e_inside import check, run, wait_until, show, Client, join  # noqa: E402

DEB1, V1, DEB2, V2 = sys.argv[1:5]

HASH_FILE = "/etc/chatroomd/admin-password-hash"
CONF_FILE = "/etc/chatroomd/chatroomd.conf"
STATE_DIR = "/var/lib/private/chatroomd"
SOCKET_LINK = "/etc/systemd/system/sockets.target.wants/chatroomd.socket"
BANNED = "203.0.113.7"


def dpkg(*args):
    result = run("env", "DEBIAN_FRONTEND=noninteractive", "dpkg", *args)
    return check(result.returncode == 0, f"dpkg {' '.join(os.path.basename(a) for a in args)} succeeds",
                 (result.stdout + result.stderr)[-1500:])


def installed_version():
    result = run("dpkg-query", "-W", "-f=${Status} ${Version}", "chatroomd")
    return result.stdout.strip() if result.returncode == 0 else ""


def cursor():
    return re.search(r"-- cursor: (.*)", run("journalctl", "--show-cursor", "-n", "0", "--no-pager").stdout).group(1)


def manager_entries(after, unit):
    """systemd's own journal entries about `unit` since the cursor."""
    output = run("journalctl", "--after-cursor", after, "-o", "json", "--no-pager", "_PID=1", f"UNIT={unit}").stdout
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def catalog_ids():
    """The MESSAGE_IDs chatroomd's catalog documents, from the installed file."""
    with open("/usr/lib/systemd/catalog/chatroomd.catalog") as catalog:
        return re.findall(r"^-- ([0-9a-f]{32})", catalog.read(), re.M)


def in_catalog(message_id):
    return message_id in run("journalctl", "--list-catalog", "--no-pager").stdout


def started_line(invocation):
    """The last 'chatroomd X started' line logged in this invocation (shown by systemctl
    status): after a handover, the new binary's."""
    def find():
        output = run("journalctl", f"_SYSTEMD_INVOCATION_ID={invocation}", "-o", "cat", "--no-pager").stdout
        return ([line for line in output.splitlines() if re.match(r"chatroomd \S+ started", line)] or [""])[-1]
    return wait_until(find, timeout=10)


def refused():
    try:
        socket.create_connection(("127.0.0.1", 12000), timeout=2).close()
        return False
    except ConnectionRefusedError:
        return True


def connection_closed(client):
    """True once the server closed the member's connection (EOF or reset), reading whatever
    it said before (a shutdown notice)."""
    try:
        while True:
            if client.receive(timeout=0.2) is None:
                return True
    except TimeoutError:
        return False
    except OSError:
        return True


def chat_through(action, talker, nick, listeners, what, lines=30):
    """`talker` sends `lines` lines, paced within flood control, while `action()` runs;
    each listener must get every one once, in order. Returns what `action()` returned."""
    sent = [f"{what} {n}" for n in range(lines)]
    errors = []

    def talk():
        try:
            for text in sent:
                talker.send(text)
                select.select([], [], [], 0.15)  # pacing (10 lines a second at most), not a wait for anything
        except OSError as error:
            errors.append(error)

    thread = threading.Thread(target=talk)
    thread.start()
    result = action()
    thread.join(timeout=60)
    check(not errors, f"{nick} could send throughout {what}", repr(errors))
    for name, listener in listeners:
        got = []
        try:
            while len(got) < lines:
                line = listener.receive(timeout=20)
                if line is None:
                    break
                if line.startswith(f"{nick}: {what} "):
                    got.append(line[len(nick) + 2:])
        except (TimeoutError, OSError):
            pass
        check(got == sent, f"{name} got every line {nick} sent during {what}, once each, in order",
              f"{len(got)} of {lines}: {got[:3]}...{got[-3:]}")
    return result


def install_v1():
    check(installed_version() == "", "chatroomd is not installed before the test", installed_version())
    if not dpkg("-i", DEB1):
        return None
    check(installed_version() == f"install ok installed {V1}", f"dpkg reports {V1} installed", installed_version())
    check(show("chatroomd.socket", "UnitFileState") == "enabled", "chatroomd.socket is enabled on install")
    check(show("chatroomd.socket", "ActiveState") == "active", "chatroomd.socket is listening after install")
    for unit in ("chatroomd.service", "chatroomd-standalone.service"):
        check(show(unit, "UnitFileState") == "disabled" and show(unit, "ActiveState") == "inactive",
              f"{unit} is neither enabled nor started (socket activation starts chatroomd)",
              f"{show(unit, 'UnitFileState')} {show(unit, 'ActiveState')}")
    info = os.lstat(HASH_FILE) if os.path.lexists(HASH_FILE) else None
    check(info is not None and stat.S_ISREG(info.st_mode) and stat.S_IMODE(info.st_mode) == 0o600 and info.st_uid == 0
          and open(HASH_FILE).read() == "!\n", "postinst created the locked credential placeholder, mode 0600",
          repr(info))
    conffiles = run("dpkg-query", "-W", "-f=${Conffiles}", "chatroomd").stdout
    check(CONF_FILE in conffiles and HASH_FILE not in conffiles,
          "chatroomd.conf is a conffile; the credential is not", conffiles)
    ids = catalog_ids()
    check(bool(ids) and all(in_catalog(i) for i in ids[:3]),
          "the journal catalog knows chatroomd's messages (systemd's dpkg trigger ran --update-catalog)", str(ids[:3]))
    check(run("chatroomd", "--version").stdout.strip() == V1, f"chatroomd --version is {V1}")

    alice = join("alice")  # the first connection starts the service
    check(show("chatroomd.service", "ActiveState") == "active", "the first connection started chatroomd.service")
    check(V1 in started_line(show("chatroomd.service", "InvocationID")), f"the journal shows chatroomd {V1} started")
    banned = run("chatroomctl", "ban", BANNED, "1h", "package test")
    check(banned.returncode == 0, "chatroomctl ban (state for purge to remove)", banned.stdout + banned.stderr)
    check(bool(wait_until(lambda: os.path.exists(f"{STATE_DIR}/sanctions.json"))),
          f"the ban is in {STATE_DIR}/sanctions.json")
    return alice


def upgrade_to_v2(alice):
    # The operator's changes, which the upgrade must keep.
    with open(CONF_FILE, "a") as conf:
        conf.write("history-lines = 7\n")
    hashed = run("sh", "-c", "printf 'pkg-test-pw\\n' | chatroomd hash-password").stdout.strip()
    with open(HASH_FILE, "w") as credential:
        credential.write(hashed + "\n")
    socket_invocation = show("chatroomd.socket", "InvocationID")
    service_invocation = show("chatroomd.service", "InvocationID")
    main_pid = show("chatroomd.service", "MainPID")
    before = cursor()

    bob = join("bob")
    alice.receive(timeout=10)  # bob's join
    if not chat_through(lambda: dpkg("-i", DEB2), bob, "bob", [("alice", alice), ("bob", bob)], "the upgrade"):
        return
    bob.close()
    check(installed_version() == f"install ok installed {V2}", f"dpkg reports {V2} installed", installed_version())
    # The upgrade hands the running daemon's connections to the new binary: no stop or
    # restart job at all, the same invocation, a new main process.
    entries = manager_entries(before, "chatroomd.service")
    jobs = [(e.get("JOB_TYPE"), e.get("JOB_RESULT")) for e in entries if e.get("JOB_RESULT")]
    check(("stop", "done") not in jobs and ("restart", "done") not in jobs,
          "the upgrade neither stopped nor restarted chatroomd.service", str(jobs))
    check(show("chatroomd.service", "MainPID") == main_pid
          and show("chatroomd.service", "ActiveState") == "active"
          and show("chatroomd.service", "InvocationID") == service_invocation,
          "chatroomd.service runs the new binary in the same main process and invocation",
          f"pid {main_pid} -> {show('chatroomd.service', 'MainPID')}")
    check(show("chatroomd.socket", "InvocationID") == socket_invocation
          and show("chatroomd.socket", "ActiveState") == "active",
          "chatroomd.socket was not restarted: the listener stayed open")
    check(run("chatroomd", "--version").stdout.strip() == V2, f"chatroomd --version is {V2}")
    check(V2 in started_line(show("chatroomd.service", "InvocationID")),
          f"the journal (systemctl status) shows chatroomd {V2} started")
    status = run("systemctl", "status", "--no-pager", "-n", "20", "chatroomd.service").stdout
    check(f"chatroomd {V2} started" in status, f"systemctl status shows chatroomd {V2}", status[-600:])
    check("history-lines = 7" in open(CONF_FILE).read(), "the operator's chatroomd.conf edit survived the upgrade")
    check(open(HASH_FILE).read().strip() == hashed, "the operator's credential survived the upgrade")
    bans = run("chatroomctl", "bans").stdout
    check(BANNED in bans, "the ban survived the restart (state kept)", bans)

    closed = connection_closed(alice)
    alice.send("still here")
    try:
        echo = alice.receive(timeout=5)
    except (TimeoutError, OSError) as error:
        echo = f"<{error}>"
    check(not closed and echo is not None and "still here" in echo,
          "alice stayed connected through the upgrade (handed to the new binary)", repr(echo))
    alice.close()


def reinstall_with_service_stopped():
    """try-restart: a chatroomd that is not running stays so across an upgrade; the socket
    starts it on the next connection."""
    run("systemctl", "stop", "chatroomd.service")
    if not dpkg("-i", DEB2):
        return
    check(show("chatroomd.service", "ActiveState") == "inactive" and show("chatroomd.socket", "ActiveState") == "active",
          "a stopped chatroomd is not started by the upgrade; the socket still listens",
          f"{show('chatroomd.service', 'ActiveState')} {show('chatroomd.socket', 'ActiveState')}")


def downgrade_to_v1():
    """v2 was built with a newer state format than v1 reads: the downgrade's restart tells
    each member why and closes them, instead of v1 misreading the state."""
    carol = join("carol")  # the socket starts v2
    before = cursor()
    if not dpkg("-i", DEB1):
        return
    check(installed_version() == f"install ok installed {V1}", f"dpkg reports {V1} installed after the downgrade", installed_version())
    try:
        notice = carol.receive(timeout=30)
    except (TimeoutError, OSError) as error:
        notice = f"<{error}>"
    check(notice == "The server restarted and could not keep your session (this is an older version of the server); connect again.",
          "carol is told the older version cannot keep her session", repr(notice))
    check(bool(wait_until(lambda: connection_closed(carol), timeout=10)), "then her connection closes")
    carol.close()
    output = run("journalctl", "--after-cursor", before, "-u", "chatroomd.service", "-o", "cat", "--no-pager").stdout
    check("restart refused, carrying on" in output and "(a downgrade?)" in output,
          "chatroomctl restart was refused first: v1's trial run does not read v2's state", output[-800:])
    check("could not take over the previous process's connections" in output,
          "v1 logs that it refused v2's state (handover-refused)", output[-800:])
    check(run("chatroomd", "--version").stdout.strip() == V1, f"chatroomd --version is {V1}")
    dave = join("dave")
    dave.send("v1 serves after the downgrade")
    dave.expect("dave: v1 serves after the downgrade", "v1 serves new members after the downgrade")
    dave.close()


def remove(version):
    bob = join("bob")
    ids = catalog_ids()
    if not dpkg("-r", "chatroomd"):
        return
    check(installed_version() == f"deinstall ok config-files {version}", "dpkg keeps only config-files", installed_version())
    for unit in ("chatroomd.service", "chatroomd.socket"):
        check(show(unit, "ActiveState") == "inactive" and show(unit, "LoadState") == "not-found",
              f"{unit} is stopped and gone", f"{show(unit, 'ActiveState')} {show(unit, 'LoadState')}")
        check(run("systemctl", "is-enabled", unit).stdout.strip() != "enabled", f"{unit} is not enabled")
    check(bool(wait_until(lambda: connection_closed(bob), timeout=5)), "bob was disconnected")
    check(refused(), "nothing listens on port 12000")
    check(not os.path.exists("/usr/bin/chatroomd"), "the binaries are gone")
    check(not in_catalog(ids[0]), "the catalog no longer has chatroomd's messages")
    check(os.path.exists(CONF_FILE) and os.path.exists(HASH_FILE) and os.path.exists(f"{STATE_DIR}/sanctions.json"),
          "remove keeps the configuration, the credential and the state")
    check(os.path.lexists(SOCKET_LINK), "remove keeps the record that the socket was enabled (until purge)")


def purge():
    if not dpkg("-P", "chatroomd"):
        return
    check(installed_version() == "", "dpkg no longer knows chatroomd", installed_version())
    for path in ("/etc/chatroomd", STATE_DIR, "/var/lib/chatroomd", SOCKET_LINK,
                 "/var/lib/systemd/deb-systemd-helper-enabled/chatroomd.socket.dsh-also"):
        check(not os.path.lexists(path), f"purge removed {path}")


def main():
    alice = install_v1()
    if alice is not None:
        upgrade_to_v2(alice)
        reinstall_with_service_stopped()
        downgrade_to_v1()
        remove(V1)
        purge()
    print(f"package: {e2e.passed} passed, {e2e.failed} failed", flush=True)
    return 1 if e2e.failed or e2e.passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
