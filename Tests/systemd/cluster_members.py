"""The members of cluster_restart_inside.py: MEMBERS on each of two nodes, reached
through each node's own port, read by one selector loop with every byte kept, and the
check that every line arrived once, in one order for all, missing only where allowed."""
import re
import selectors
import socket
import time

from e2e_inside import check, frame

MEMBERS = 4          # per node
TALKERS = 2          # the first TALKERS members of each node talk
LINES = 30           # per talker, a line every INTERVAL seconds (within flood control)
INTERVAL = 0.15
DEADLINE = 30.0
EARLY = 1.0          # a line sent this long before a disruption may still be in flight
NICKS = {node: [f"{'ab'[node - 1]}{i}" for i in range(MEMBERS)] for node in (1, 2)}
NODE_OF = {nick: node for node, nicks in NICKS.items() for nick in nicks}
TALKING = [nick for node in (1, 2) for nick in NICKS[node][:TALKERS]]
IN_USE = " is already in use. Choose another one."
LEFT = "[CLIENT DISCONNECT - {}]"
JOINED = "{} has joined the chat!"

def parse_frames(buffer):
    lines, offset = [], 0
    while len(buffer) - offset >= 64:
        length = int(buffer[offset:offset + 64])
        if len(buffer) - offset - 64 < length:
            break
        lines.append(buffer[offset + 64:offset + 64 + length].decode())
        offset += 64 + length
    return lines


class Members:
    """Every member's connection, read by one selector loop, with every byte kept."""

    def __init__(self):
        self.selector = selectors.DefaultSelector()
        self.socks = {}
        self.buffers = {}
        self.closed = set()
        self.sent_at = {}  # (nick, text) -> time.time() when sent

    def join_all(self):
        for node in (1, 2):
            for index, nick in enumerate(NICKS[node]):
                sock = socket.create_connection(("127.0.0.1", 12000 + node), timeout=15,
                                                source_address=(f"127.3.{node}.{index + 1}", 0))
                sock.sendall(frame(f"NICK:{nick}"))
                sock.setblocking(False)
                self.selector.register(sock, selectors.EVENT_READ, nick)
                self.socks[nick] = sock
                self.buffers[nick] = bytearray()
                if not self.pump_until(lambda: JOINED.format(nick) in self.lines(nick)):
                    return check(False, f"{nick} joins node {node}", f"{self.lines(nick)}")
        return check(True, f"{MEMBERS} members joined each node through its own port")

    def pump(self, timeout):
        for key, _ in self.selector.select(timeout):
            nick = key.data
            try:
                data = self.socks[nick].recv(1 << 16)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                self.closed.add(nick)
                self.selector.unregister(self.socks[nick])
                continue
            self.buffers[nick] += data

    def pump_until(self, predicate, timeout=DEADLINE):
        deadline = time.monotonic() + timeout
        while not predicate() and time.monotonic() < deadline:
            self.pump(0.05)
        return predicate()

    def lines(self, nick):
        return parse_frames(bytes(self.buffers[nick]))

    def say(self, nick, text):
        self.sent_at[(nick, text)] = time.time()
        self.socks[nick].setblocking(True)
        self.socks[nick].sendall(frame(text))
        self.socks[nick].setblocking(False)

    def barrier(self, tag):
        """Every talker says `tag`; true once every member has all of them."""
        for nick in TALKING:
            self.say(nick, tag)
        wanted = [f"{nick}: {tag}" for nick in TALKING]
        return self.pump_until(lambda: all(all(w in self.lines(m) for w in wanted) for m in self.socks if m not in self.closed))

    def chat_through(self, disruption, at_line):
        """Every talker says LINES lines; `disruption()` runs once, at line `at_line`."""
        for buffer in self.buffers.values():
            buffer.clear()
        self.sent_at.clear()
        next_time = time.monotonic()
        for n in range(LINES):
            if n == at_line:
                disruption()
            for nick in TALKING:
                self.say(nick, f"line {n}")
            next_time += INTERVAL
            while time.monotonic() < next_time:
                self.pump(max(0.0, next_time - time.monotonic()))

    def heard(self, member):
        """(talker lines in arrival order, every other line)."""
        talk, other = [], []
        for line in self.lines(member):
            match = re.match(r"^([ab]\d+): (.*)$", line)
            if match and match.group(1) in TALKING:
                talk.append((match.group(1), match.group(2)))
            else:
                other.append(line)
        return talk, other


def verify_lines(members, what, may_miss):
    """Every member got every talker's lines once each, in order, in the same order as
    everyone else; a line may be missing only where `may_miss(member_node, talker_node,
    sent_at)` allows. Returns node -> the sequence that node's members heard."""
    expected = sorted(members.sent_at, key=members.sent_at.get)
    wrong, heard = [], {}
    for member in members.socks:
        node = NODE_OF[member]
        if member in members.closed:
            wrong.append(f"{member} was disconnected")
            continue
        talk, _ = members.heard(member)
        if len(set(talk)) != len(talk):
            wrong.append(f"{member} got a line twice")
        for talker in TALKING:
            mine = [text for who, text in talk if who == talker]
            order = [text for who, text in expected if who == talker]
            if mine != [text for text in order if text in mine] or len(mine) != len(set(mine)):
                wrong.append(f"{member} got {talker}'s lines out of order")
        for line in expected:
            if line not in talk and not may_miss(node, NODE_OF[line[0]], members.sent_at.get(line, 0)):
                wrong.append(f"{member} (node {node}) missed {line[0]}: {line[1]}")
        if heard.setdefault(node, talk) != talk:
            wrong.append(f"{member} heard another sequence than the other members of node {node}")
    if 1 in heard and 2 in heard:
        both = set(heard[1]) & set(heard[2])
        if [l for l in heard[1] if l in both] != [l for l in heard[2] if l in both]:
            wrong.append("the nodes' members heard the lines they share in different orders")
    check(not wrong, f"{what}: every member kept its connection; every line arrived once, in one order for all, "
                     f"none missing outside the allowed window", "; ".join(wrong[:6]))
    return heard


def missing(heard, node):
    """The lines node `node`'s members did not hear, in the order node 2's members heard them."""
    return [line for line in heard.get(2, []) if line not in set(heard.get(node, []))]
