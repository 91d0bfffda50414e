"""The server texts the attack tools recognise. Python cannot import the Swift
declarations, so they are mirrored here once, each naming its source; the tools never
retype them elsewhere. A fix may reword notices, so only texts that clients must keep
recognising (ServerReply) are relied on for control flow; Notice texts are only counted.
"""

# Sources/ChatProtocol/ServerReply.swift
CONNECTED = "Connected to the server"
JOINED_SUFFIX = " has joined the chat!"
LEFT_PREFIX = "[CLIENT DISCONNECT - "
CHAT_SEPARATOR = ": "
TOO_FAST = "You are sending messages too fast; that one was not delivered."

# Sources/ChatProtocol/ClientRequest.swift
NICK_PREFIX = "NICK:"
ADMIN_PREFIX = "admin:"
DISCONNECT = "!DC"

# Sources/ChatCore/Notice.swift (counted, never waited on)
FLOODED_PREFIX = "You have been disconnected for flooding"
LOGIN_FAILED_PREFIX = "Login failed"
LOGIN_THROTTLED_PREFIX = "Too many failed logins"
INCORRECT_PASSWORD = "Incorrect password."
MUTED_INFIX = " has been muted"


def joined(nick):
    return nick + JOINED_SUFFIX


def chat_line(nick, text):
    return nick + CHAT_SEPARATOR + text


def is_login_reply(text):
    """A reply to a failed or refused login, in today's wording or a plausible rewording."""
    lowered = text.lower()
    return text.startswith((LOGIN_FAILED_PREFIX, LOGIN_THROTTLED_PREFIX, INCORRECT_PASSWORD)) or (
        "login" in lowered and not text.split(" ", 1)[0].endswith(":"))
