"""(e) Native journal protocol: logs one structured entry, then stays alive (so journald can attribute it)."""
import signal

from sdhelp import journal_send, notify

journal_send(MESSAGE="alice joined lobby", PRIORITY="6", SYSLOG_IDENTIFIER="chatroomd",
             CHAT_EVENT="join", CHAT_ROOM="lobby", CHAT_USER="alice", CHAT_MOTD="welcome\nto the lobby")
notify("READY=1")
while True:
    signal.pause()
