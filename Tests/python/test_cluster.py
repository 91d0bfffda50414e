"""One room over three chatroomd processes joined by a real redis-server (the Debian
package; each test starts its own on a Unix socket in a temporary directory, without
persistence, and stops it after).

What is checked: members spread over the nodes see one identical sequence with nothing
lost, the speaker's echo included; join and leave notices reach the whole room; nicknames
are unique across nodes, also for two joins at the same moment; a node killed with
SIGKILL has its members announced as gone and their nicknames freed within 5 s; when
Redis dies each node's members chat on among themselves, are told once, and are told
once again when Redis is back, and exactly the lines said during the split are missing
on the other nodes; a Redis that stops answering (DEBUG SLEEP) does not hold up local
delivery; the seed's own client on one node chats with `chatroom` on another.

Nothing sleeps: every wait is a read with a deadline, or a wait for a log line.
"""

import os
import signal
import subprocess
import threading
import unittest

from chatroomd_fixture import ADMIN_PASSWORD, chatroom_binary
from cluster_support import READ_DEADLINE, read_until, ClusterTestCase
from redis_fixture import start_node


class ClusterChatTests(ClusterTestCase):

    def test_members_on_three_nodes_see_one_identical_sequence_with_nothing_lost(self):
        clients = self.join_everywhere([["ann", "abe"], ["bob", "bea"], ["cy", "cat"]])
        per_sender = 30
        senders = list(clients)
        received = {name: [] for name in senders}
        errors = []

        def speak(name):
            try:
                for i in range(per_sender):
                    clients[name].send(f"{name} line {i}")
            except Exception as error:  # reported by the main thread
                errors.append(error)

        def listen(name):
            try:
                received[name] = clients[name].recv_n(per_sender * len(senders), timeout=30)
            except Exception as error:
                errors.append(error)

        threads = [threading.Thread(target=listen, args=(n,)) for n in senders]
        threads += [threading.Thread(target=speak, args=(n,)) for n in senders]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        self.assertEqual(errors, [])
        reference = received[senders[0]]
        expected = {f"{n}: {n} line {i}" for n in senders for i in range(per_sender)}
        self.assertEqual(set(reference), expected, "a line was lost or duplicated")
        self.assertEqual(len(reference), len(expected))
        for name in senders:
            self.assertEqual(received[name], reference, f"{name} saw another order")
            own = [line for line in reference if line.startswith(f"{name}: ")]
            self.assertEqual(own, [f"{name}: {name} line {i}" for i in range(per_sender)])

    def test_leave_notices_reach_every_node(self):
        clients = self.join_everywhere([["ann"], ["bob"], ["cy"]])
        clients["bob"].disconnect()
        for name in ("ann", "cy"):
            self.assertEqual(clients[name].recv(), "[CLIENT DISCONNECT - bob]")
        clients["cy"].close()  # without !DC: the same notice
        self.assertEqual(clients["ann"].recv(), "[CLIENT DISCONNECT - cy]")

    def test_the_seed_client_on_one_node_chats_with_chatroom_on_another(self):
        ann = self.join(0, "ann")
        process = subprocess.Popen([chatroom_binary(), "--nick", "zed", "--port", str(self.daemons[1].port)],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: process.poll() is None and process.kill())
        self.assertEqual(ann.recv(), "zed has joined the chat!")
        ann.send("hello zed")
        self.assertEqual(ann.recv(), "ann: hello zed")
        process.stdin.write("hello ann\n")
        process.stdin.flush()
        self.assertEqual(ann.recv(), "zed: hello ann")
        out, err = process.communicate(timeout=READ_DEADLINE)  # end of input: zed leaves
        self.assertEqual(ann.recv(), "[CLIENT DISCONNECT - zed]")
        self.assertEqual(process.returncode, 0, err)
        self.assertIn("ann: hello zed", out)
        self.assertIn("zed: hello ann", out)


class ClusterCommandTests(ClusterTestCase):
    nodes = 2

    def test_who_lists_every_member_with_its_node(self):
        clients = self.join_everywhere([["ann", "zoe"], ["bob"]])
        for name in ("ann", "bob"):
            clients[name].send("/who")
            self.assertEqual(clients[name].recv(), "3 members: ann (node1), bob (node2), zoe (node1)")

    def test_a_private_message_reaches_a_member_on_another_node_only(self):
        clients = self.join_everywhere([["ann", "zoe"], ["bob"]])
        clients["ann"].send("/msg bob psst")
        self.assertEqual(clients["ann"].recv(), "[PM to bob] psst")
        self.assertEqual(clients["bob"].recv(), "[PM from ann] psst")
        clients["ann"].send("/msg nobody hello")
        self.assertEqual(clients["ann"].recv(), "No member is called nobody.")
        self.barrier(clients["bob"], "bob", [clients["zoe"], clients["ann"], clients["bob"]])  # zoe saw no PM

    def test_kick_and_topic_from_one_node_act_on_the_other(self):
        ann = self.join(0, "ann")
        bob = self.join(1, "bob", [ann])
        admin = self.join_admin(0, [ann, bob])
        admin.send("/topic Cluster news")
        for client in (admin, ann, bob):
            self.assertEqual(client.recv(), "admin set the topic: Cluster news")
        late = self.connect(1)
        late.join("late")
        self.assertEqual(late.recv_n(2), ["Connected to the server", "Topic: Cluster news"])
        for client in (admin, ann, bob):
            self.assertEqual(client.recv(), "late has joined the chat!")
        self.assertEqual(late.recv(), "late has joined the chat!")
        admin.send("/kick bob spam")
        self.assertEqual(bob.recv(), "You have been kicked by an admin. Reason: spam")
        self.assertClosed(bob)
        for client in (admin, ann, late):
            self.assertEqual(client.recv(), "bob has been kicked from the server. Reason: spam")
        # bob's nickname is free again everywhere.
        again = self.connect(0)
        again.join("bob")
        self.assertEqual(again.recv_n(3), ["Connected to the server", "Topic: Cluster news", "bob has joined the chat!"])
        for client in (admin, ann, late):
            self.assertEqual(client.recv(), "bob has joined the chat!")
        again.send("/who")
        self.assertEqual(again.recv(), "4 members: admin (node1) [admin], ann (node1), bob (node1), late (node2)")


class ClusterSanctionTests(ClusterTestCase):
    nodes = 2

    def test_bans_mutes_and_slowmode_set_on_one_node_hold_on_the_other(self):
        admin = self.join_admin(0, source="127.0.0.2")
        ann = self.join(0, "ann", [admin], source="127.0.0.4")
        bob = self.join(1, "bob", [admin, ann], source="127.0.0.3")
        carl = self.join(1, "carl", [admin, ann, bob], source="127.0.0.5")
        dan = self.join(1, "dan", [admin, ann, bob, carl], source="127.0.0.6")

        admin.send("/mute carl")  # carl is on the other node: the command runs there
        self.assertEqual(carl.recv(), "You have been muted by an admin.")
        for client in (bob, dan):
            self.assertEqual(client.recv(), "carl has been muted.")
        carl.send("can anyone hear me")
        self.assertEqual(carl.recv(), "You are muted.")
        self.barrier(dan, "dan", [admin, ann, bob, carl, dan])  # nobody got carl's line

        admin.send("/ban bob")
        self.assertEqual(bob.recv(), "You have been banned by an admin.")
        self.assertClosed(bob)
        for client in (admin, ann, carl, dan):
            self.assertEqual(client.recv(), "bob has been banned from the server.")
        # The ban holds on the node where it was not set, too.
        again = self.connect(0, source="127.0.0.3")
        again.join("bob")
        self.assertEqual(again.recv(), "You are banned from this server.")
        self.assertClosed(again)

        admin.send("/slowmode 60")
        for client in (admin, ann, carl, dan):
            self.assertEqual(client.recv(), "Slowmode is on: one message every 1m per member.")
        dan.send("again")  # dan spoke (the barrier) less than 60 s ago, on the other node
        self.assertTrue(dan.recv().startswith("Slowmode is on: you may send your next message in "))
        self.barrier(admin, "admin", [admin, ann, carl, dan])


class ClusterHistoryTests(ClusterTestCase):
    nodes = 1
    seed_behaviour = [a for a in ["--history-lines", "5", "--flood-burst", "1000", "--flood-rate", "1000",
                                  "--joins-per-address-per-minute", "off", "--presence-rate", "off",
                                  "--accepts-per-address-per-second", "off"]]

    def test_a_joiner_on_a_node_started_later_gets_the_same_history_and_topic(self):
        ann = self.connect(0)
        ann.join("ann")
        self.assertEqual(ann.recv_n(2), ["Connected to the server", "ann has joined the chat!"])
        for i in range(7):
            ann.send(f"line {i}")
        self.assertEqual(ann.recv_n(7), [f"ann: line {i}" for i in range(7)])
        admin = self.connect(0)
        admin.login_admin(ADMIN_PASSWORD)
        admin.recv_until("An admin has joined the chat!")  # after the history replay
        self.assertEqual(ann.recv(), "An admin has joined the chat!")
        admin.send("/topic Shared topic")
        self.assertEqual(ann.recv(), "admin set the topic: Shared topic")
        self.daemons.append(self.start_node(1))  # knows nothing but what Redis holds
        replays = []
        for node, nick in ((0, "early"), (1, "late")):
            client = self.connect(node)
            client.join(nick)
            frames = client.recv_until(f"{nick} has joined the chat!")
            self.assertEqual(frames[0], "Connected to the server")
            replays.append(frames[1:-1])
        self.assertEqual(replays[0][0], "Topic: Shared topic")
        history = replays[0][1:]
        self.assertEqual(len(history), 5, replays[0])
        self.assertTrue(all(f"ann: line {i}" in line for line, i in zip(history, range(2, 7))), history)
        self.assertEqual(replays[1], replays[0])


class ClusterRestartTests(ClusterTestCase):
    """A node restarted in place (SIGUSR2, as `chatroomctl restart`) keeps its members in
    the room: no leave notice elsewhere, their nicknames still theirs, lines flow both ways."""
    nodes = 2

    def test_a_node_restarted_in_place_keeps_its_members_in_the_whole_room(self):
        clients = self.join_everywhere([["alice"], ["bob"]])
        alice, bob = clients["alice"], clients["bob"]
        node = self.daemons[0]
        sockets_before = open_sockets(node.process.pid)
        mark = len(node.stderr_lines)
        node.send_signal(signal.SIGUSR2)
        node.wait_for_log(r"chat_event=handover-restored", timeout=20, after=mark)
        node.wait_for_log(r"chat_event=cluster-linked", timeout=20, after=mark)
        # The old Redis connections did not pass through the exec (hiredis opens them
        # without close-on-exec): only the new two are open.
        self.assertEqual(open_sockets(node.process.pid), sockets_before)
        alice.send("after the restart")
        self.assertEqual(read_until(bob, lambda line: line.startswith("alice: ")), ["alice: after the restart"],
                         "bob saw no leave or join of alice, and her line")
        self.assertEqual(read_until(alice, lambda line: line.startswith("alice: ")), ["alice: after the restart"])
        bob.send("hello alice")
        self.assertEqual(read_until(alice, lambda line: line.startswith("bob: ")), ["bob: hello alice"])
        impostor = self.connect(1)
        impostor.join("alice")
        self.assertEqual(impostor.recv(), "The nickname alice is already in use. Choose another one.")


def open_sockets(pid):
    """How many sockets the process has open."""
    count = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            count += os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")
        except OSError:
            pass  # closed meanwhile
    return count


if __name__ == "__main__":
    unittest.main()
