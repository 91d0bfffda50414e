"""Nicknames across the nodes of one room: unique everywhere (also for two joins at the
same moment), `/nick` claimed across nodes, and chatroomctl's `who` and `stats` for the
whole room. See test_cluster.py for the setting; nothing sleeps."""

import json
import re
import time
import unittest

from cluster_support import SPLIT, WHOLE, RENAMED, ClusterTestCase


class ClusterNicknameTests(ClusterTestCase):

    def test_a_nickname_taken_on_one_node_is_refused_on_the_others(self):
        observer = self.join(1, "observer")
        ann = self.join(0, "ann", [observer])
        for node in (1, 2):
            other = self.connect(node)
            other.join("ann")
            self.assertEqual(other.recv(), "The nickname ann is already in use. Choose another one.")
            self.assertClosed(other)
        ann.disconnect()
        # Freed on every node once ann left (the claim is released before the leave is
        # published, on the same connection to Redis).
        self.assertEqual(observer.recv(), "[CLIENT DISCONNECT - ann]")
        again = self.connect(2)
        again.join("ann")
        self.assertEqual(again.recv_n(2), ["Connected to the server", "ann has joined the chat!"])

    def test_two_joins_with_one_nickname_at_the_same_moment_admit_exactly_one(self):
        for round_number in range(10):
            nick = f"twin{round_number}"
            first, second = self.connect(0), self.connect(1)
            first.join(nick)
            second.join(nick)
            answers = [first.recv(), second.recv()]
            winners = [c for c, a in zip((first, second), answers) if a == "Connected to the server"]
            self.assertEqual(len(winners), 1, f"round {round_number}: {answers}")
            self.assertIn(f"The nickname {nick} is already in use. Choose another one.", answers)
            # The previous round's leave may still be on its way to this node.
            seen = winners[0].recv_until(f"{nick} has joined the chat!")
            self.assertTrue(set(seen[:-1]) <= {f"[CLIENT DISCONNECT - twin{round_number - 1}]"}, seen)
            winners[0].disconnect()


def in_use(nick):
    return f"The nickname {nick} is already in use. Choose another one."


class ClusterRenameTests(ClusterTestCase):
    """`/nick` across nodes: the new nickname is claimed in Redis first (as a join's), every
    node shows the same notice in the channel's order, the other nodes' rosters follow,
    the old nickname is freed; while the room is split a rename goes ahead on the node's
    own members and is claimed again when the room is whole."""
    nodes = 2

    def who(self, client):
        client.send("/who")
        return client.recv()

    def wait_for_who(self, client, expected, timeout=10.0):
        """`/who` until it answers `expected` (a roster update may still be on its way)."""
        deadline = time.monotonic() + timeout
        answer = None
        while time.monotonic() < deadline:
            answer = self.who(client)
            if answer == expected:
                return
        self.assertEqual(answer, expected)

    def test_a_rename_is_shown_everywhere_and_the_rosters_follow(self):
        clients = self.join_everywhere([["ann", "abe"], ["bob"]])
        clients["ann"].send("/nick anna")
        for name in clients:
            self.assertEqual(clients[name].recv(), "ann is now known as anna.")
        # The other node's roster follows: /who, /msg to the new name, none to the old.
        # The rosters changed before the notice was sent: no wait needed.
        self.assertEqual(self.who(clients["bob"]), "3 members: abe (node1), anna (node1), bob (node2)")
        clients["bob"].send("/msg anna hello")
        self.assertEqual(clients["bob"].recv(), "[PM to anna] hello")
        self.assertEqual(clients["ann"].recv(), "[PM from bob] hello")
        clients["bob"].send("/msg ann hello")
        self.assertEqual(clients["bob"].recv(), "No member is called ann.")
        clients["ann"].send("as anna")
        for name in clients:
            self.assertEqual(clients[name].recv(), "anna: as anna")
        # A nickname held on another node: the reply a single node gives, nothing else.
        clients["bob"].send("/nick anna")
        self.assertEqual(clients["bob"].recv(), in_use("anna"))
        clients["abe"].send("/nick bob")
        self.assertEqual(clients["abe"].recv(), in_use("bob"))
        self.barrier(clients["bob"], "bob", list(clients.values()))  # nobody was told of a rename
        # The old nickname is free on every node.
        again = self.join(1, "ann", list(clients.values()))
        self.assertEqual(self.who(again), "4 members: abe (node1), ann (node2), anna (node1), bob (node2)")
        # A rename that changes only the case keeps the claim, and shows like any other.
        clients["bob"].send("/nick BOB")
        for client in list(clients.values()) + [again]:
            self.assertEqual(client.recv(), "bob is now known as BOB.")
        self.assertEqual(self.who(clients["ann"]), "4 members: abe (node1), ann (node2), anna (node1), BOB (node2)")
        impostor = self.connect(0)
        impostor.join("bob")
        self.assertEqual(impostor.recv(), in_use("bob"))

    def test_two_renames_to_one_nickname_at_the_same_moment_exactly_one_wins(self):
        clients = self.join_everywhere([["ann"], ["bob"]])
        nicks = {"ann": "ann", "bob": "bob"}
        wins = {"ann": 0, "bob": 0}
        for round_number in range(8):
            target = f"twin{round_number}"
            for name in ("ann", "bob"):
                clients[name].send(f"/nick {target}")
            frames = {name: clients[name].recv_until(lambda text: text.endswith(f" is now known as {target}."))
                      for name in ("ann", "bob")}
            notices = {frames[name][-1] for name in frames}
            self.assertEqual(len(notices), 1, frames)
            winner = next(name for name in nicks if notices == {f"{nicks[name]} is now known as {target}."})
            loser = "bob" if winner == "ann" else "ann"
            wins[winner] += 1
            self.assertEqual(frames[winner], [f"{nicks[winner]} is now known as {target}."])
            # The loser's refusal comes before or after the winner's notice.
            refusal = frames[loser][:-1] or [clients[loser].recv()]
            self.assertEqual(refusal, [in_use(target)], frames)
            nicks[winner] = target
            self.barrier(clients[loser], nicks[loser], list(clients.values()))  # nothing else
        self.assertEqual(sum(wins.values()), 8)
        self.wait_for_who(clients["ann"], " ".join(["2 members:", ", ".join(
            f"{nicks[n]} ({'node1' if n == 'ann' else 'node2'})" for n in sorted(nicks, key=lambda n: nicks[n].lower()))]))

    def test_a_rename_during_a_split_goes_ahead_locally_and_is_claimed_again_when_whole(self):
        clients = self.join_everywhere([["ann", "abe"], ["bob"]])
        self.redis.kill()
        for name in clients:
            self.assertEqual(clients[name].recv(), SPLIT)
        # Each node checks only its own members while apart: both renames to zed succeed.
        clients["ann"].send("/nick zed")
        for name in ("ann", "abe"):
            self.assertEqual(clients[name].recv(), "ann is now known as zed.")
        clients["bob"].send("/nick zed")
        self.assertEqual(clients["bob"].recv(), "bob is now known as zed.")
        clients["abe"].send("/nick abel")  # no contest: kept, and abe freed
        for name in ("ann", "abe"):
            self.assertEqual(clients[name].recv(), "abe is now known as abel.")
        self.redis.start()
        # One keeps zed, the other is renamed zed_2 and told why; nobody is told of a leave.
        seen = {name: clients[name].recv_until(WHOLE) for name in clients}
        self.assertEqual(seen["abe"], [WHOLE])
        for name in ("ann", "bob"):
            self.assertIn(seen[name], ([WHOLE], [RENAMED, WHOLE]))
        pattern = r"^3 members: abel \(node1\), zed \((node[12])\), zed_2 \((node[12])\)$"
        deadline = time.monotonic() + 10
        while True:  # until the renamed member's new claim is granted and known on node1
            match = re.match(pattern, self.who(clients["abe"]))
            if (match and match.group(1) != match.group(2)) or time.monotonic() > deadline:
                break
        self.assertTrue(match and match.group(1) != match.group(2), "the rosters never settled")
        renamed, kept = ("ann", "bob") if match.group(2) == "node1" else ("bob", "ann")
        if RENAMED not in seen[renamed]:
            self.assertEqual(clients[renamed].recv(), RENAMED)
        self.assertNotIn(RENAMED, seen[kept])
        clients[renamed].send("still here")
        for name in clients:
            self.assertEqual(clients[name].recv(), "zed_2: still here")
        for name in ("ann", "bob"):
            self.wait_for_who(clients[name], match.group(0))
        # The nicknames given up during the split are free again; those taken are not.
        for node, nick, answer in ((1, "ann", None), (0, "abe", None), (1, "zed", in_use("zed")), (0, "abel", in_use("abel"))):
            client = self.connect(node)
            client.join(nick)
            self.assertEqual(client.recv(), answer or "Connected to the server", nick)
            if answer is None:
                client.recv_until(f"{nick} has joined the chat!")


class ClusterControlTests(ClusterTestCase):
    """`chatroomctl who` and `stats` on a node of a cluster: every member with its node,
    and the room-wide counts apart from the node's own figures."""
    nodes = 2
    with_control_socket = True

    def test_who_lists_every_member_of_the_room_with_its_node_from_either_node(self):
        self.assertEqual(self.ctl(0, "who"), "No members online.\n")
        clients = self.join_everywhere([["ann", "zoe"], ["bob"]])
        admin = self.join_admin(1, list(clients.values()))
        for node in (0, 1):
            listed = json.loads(self.ctl(node, "--json", "who"))
            self.assertIs(listed["ok"], True)
            self.assertEqual([(m["nick"], m["node"], m["local"]) for m in listed["members"]],
                             [("admin", "node2", node == 1), ("ann", "node1", node == 0),
                              ("bob", "node2", node == 1), ("zoe", "node1", node == 0)])
            for member in listed["members"]:
                self.assertEqual("peer" in member, member["local"], member)
                if member["nick"] == "admin" and member["local"]:
                    self.assertIs(member["admin"], True)
        plain = self.ctl(0, "who").splitlines()
        self.assertEqual([line.split("  ")[:2] for line in plain],
                         [["admin", "node node2"], ["ann", "node node1"], ["bob", "node node2"], ["zoe", "node node1"]])
        self.assertRegex(plain[1], r"^ann  node node1  127\.0\.0\.1:\d+$")
        self.assertEqual(self.ctl(1, "who").splitlines()[0].split("  ")[0], "admin [admin]")
        # The same list as a member's /who.
        admin.send("/who")
        self.assertEqual(admin.recv(), "4 members: admin (node2) [admin], ann (node1), bob (node2), zoe (node1)")

    def test_stats_give_the_room_wide_counts_and_this_nodes_own(self):
        clients = self.join_everywhere([["ann", "zoe"], ["bob"]])
        clients["ann"].send("hello")
        for name in clients:
            self.assertEqual(clients[name].recv(), "ann: hello")
        for node, here in ((0, 2), (1, 1)):
            stats = json.loads(self.ctl(node, "--json", "stats"))
            self.assertIs(stats["ok"], True)
            self.assertIs(stats["cluster_linked"], True)
            self.assertEqual((stats["node"], stats["room"]), (f"node{node + 1}", "lobby"))
            self.assertEqual((stats["room_members"], stats["room_nodes"]), (3, 2))
            self.assertEqual(stats["members"], here, "members: this node's own")
            self.assertGreaterEqual(stats["connections"], here)
            self.assertEqual(stats["messages_relayed"], 1)
        plain = self.ctl(1, "stats").splitlines()
        self.assertEqual(plain[:3], ["room lobby, every node (linked):", "room_members: 3", "room_nodes: 2"])
        self.assertEqual(plain[3], "this node, node2:")
        self.assertIn("members: 1", plain[4:])
        # While split, a node counts only its own members, and says so.
        self.redis.kill()
        for name in clients:
            self.assertEqual(clients[name].recv(), SPLIT)
        stats = json.loads(self.ctl(0, "--json", "stats"))
        self.assertEqual((stats["cluster_linked"], stats["room_members"], stats["room_nodes"], stats["members"]), (False, 2, 1, 2))
        self.assertEqual(self.ctl(0, "stats").splitlines()[0],
                         "room lobby, every node (split: the other nodes' members are not counted):")


if __name__ == "__main__":
    unittest.main()
