"""Every chat command over real sockets, against the real chatroomd.

Members connect from their own loopback addresses (127.0.0.2, 127.0.0.3, ...) so that a
ban or mute of one never touches the admin, who connects from 127.0.0.1. Nothing sleeps:
waits are blocking reads with deadlines, absences are shown with barriers.
"""

import unittest

from chat_test_support import ADMIN_HELP, EVERYONE_HELP, SHA512_HASH, SHA512_PASSWORD, ChatAssertions
from chatroomd_fixture import DaemonTestCase


class CommandTests(ChatAssertions, DaemonTestCase):
    daemon_args = ("--admin", f"root {SHA512_HASH}")

    def room(self, *nicks):
        """The admin (127.0.0.1) and members joined from 127.0.0.2, .3, ...; everyone has
        seen everyone else's join."""
        admin = self.join_admin()
        members = {}
        for index, nick in enumerate(nicks):
            client = self.join(nick, source=f"127.0.0.{index + 2}")
            for other in [admin, *members.values()]:
                self.assertEqual(other.recv(), f"{nick} has joined the chat!")
            members[nick] = client
        return admin, members

    # MARK: Everyone's commands

    def test_help_lists_the_commands_and_admin_commands_for_admins(self):
        admin, m = self.room("alice")
        m["alice"].send("/help")
        self.assertEqual(m["alice"].recv_n(len(EVERYONE_HELP)), EVERYONE_HELP)
        admin.send("/help")
        self.assertEqual(admin.recv_n(len(EVERYONE_HELP) + len(ADMIN_HELP)), EVERYONE_HELP + ADMIN_HELP)
        # Replies go to the asker only.
        self.barrier(admin, "admin", [admin, m["alice"]])

    def test_who_lists_members_sorted_with_marks(self):
        admin, m = self.room("carol", "Bob", "alice")
        m["alice"].send("/who")
        self.assertEqual(m["alice"].recv(), "4 members: admin [admin], alice, Bob, carol")
        admin.send("/mute carol")
        self.expect(m["carol"], "You have been muted by an admin.")
        m["bob"] = m.pop("Bob")
        m["bob"].send("/who")
        self.expect(m["bob"], "carol has been muted.", "4 members: admin [admin], alice, Bob, carol [muted]")

    def test_unknown_command_and_admin_only_commands_are_refused(self):
        admin, m = self.room("alice", "bob")
        m["alice"].send("/dance")
        self.expect(m["alice"], "Unknown command /dance. Type /help for the list.")
        for command in ("kick bob", "ban bob", "unban 127.0.0.3", "bans", "mute bob", "unmute bob", "slowmode 5", "say hi"):
            m["alice"].send(f"/{command}")
            self.expect(m["alice"], f"Only an admin can use /{command.split()[0]}.")
        self.barrier(m["bob"], "bob", [admin, m["alice"], m["bob"]])

    def test_msg_is_private_and_reports_mistakes(self):
        admin, m = self.room("alice", "bob", "carol")
        m["alice"].send("/msg bob hi there, bob")
        self.expect(m["bob"], "[PM from alice] hi there, bob")
        self.expect(m["alice"], "[PM to bob] hi there, bob")
        m["alice"].send("/msg BOB  case  and  spaces ")
        self.expect(m["bob"], "[PM from alice] case  and  spaces ")
        self.expect(m["alice"], "[PM to bob] case  and  spaces ")
        m["alice"].send("/msg nobody hello")
        self.expect(m["alice"], "No member is called nobody.")
        m["alice"].send("/msg alice talking to myself")
        self.expect(m["alice"], "You cannot send a private message to yourself.")
        m["alice"].send("/msg bob")
        self.expect(m["alice"], "Usage: /msg <nick> <text>")
        # Nobody else saw any of it.
        self.barrier(m["carol"], "carol", [admin, m["alice"], m["bob"], m["carol"]])

    def test_me_is_an_action_for_everyone(self):
        admin, m = self.room("alice", "bob")
        m["alice"].send("/me waves at everyone ☕")
        for client in (admin, m["alice"], m["bob"]):
            self.expect(client, "* alice waves at everyone ☕")
        m["alice"].send("/me")
        self.expect(m["alice"], "Usage: /me <action>")
        self.barrier(m["bob"], "bob", [admin, m["alice"], m["bob"]])

    def test_nick_renames_and_refuses_taken_reserved_or_invalid_names(self):
        admin, m = self.room("alice", "bob")
        m["alice"].send("/nick alicia")
        for client in (admin, m["alice"], m["bob"]):
            self.expect(client, "alice is now known as alicia.")
        m["alice"].send("hello")
        for client in (admin, m["alice"], m["bob"]):
            self.expect(client, "alicia: hello")
        m["alice"].send("/nick BOB")
        self.expect(m["alice"], "The nickname BOB is already in use. Choose another one.")
        m["alice"].send("/nick Admin")
        self.expect(m["alice"], "The nickname admin is reserved. Log in with admin:<password> instead.")
        m["alice"].send("/nick " + "x" * 33)
        self.expect_match(m["alice"], r"Invalid nickname: it is longer than 32 bytes\. .*")
        m["alice"].send("/nick")
        self.expect(m["alice"], "Usage: /nick <new>")
        # The old nickname is free again.
        newcomer = self.join("alice", source="127.0.0.9")
        for client in (admin, m["alice"], m["bob"]):
            self.expect(client, "alice has joined the chat!")
        m["alice"].send("/who")
        self.expect(m["alice"], "4 members: admin [admin], alice, alicia, bob")
        self.barrier(newcomer, "alice", [newcomer, m["bob"]])

    def test_login_with_an_account_from_the_admin_flag(self):
        admin, m = self.room("alice", "bob")
        m["alice"].send("/login root wrong password")
        self.expect(m["alice"], "Login failed: unknown account or wrong password.")
        m["alice"].send("/login nobody x")
        self.expect(m["alice"], "Login failed: unknown account or wrong password.")
        m["alice"].send("/login root")
        self.expect(m["alice"], "Usage: /login <account> <password>")
        m["alice"].send(f"/login root {SHA512_PASSWORD}")
        self.expect(m["alice"], "You are now an admin (account root).")
        for client in (admin, m["alice"], m["bob"]):
            self.expect(client, "alice is now an admin.")
        self.daemon.wait_for_log(r"chat_account=root .*chat_event=admin-login")
        m["alice"].send(f"/login root {SHA512_PASSWORD}")
        self.expect(m["alice"], "You are already an admin.")
        # Now she moderates: /say and /who show it.
        m["alice"].send("/say hello from alice")
        for client in (admin, m["alice"], m["bob"]):
            self.expect(client, "[server] hello from alice")
        m["bob"].send("/who")
        self.expect(m["bob"], "3 members: admin [admin], alice [admin], bob")

    # MARK: Moderation

    def test_kick_with_a_reason(self):
        admin, m = self.room("alice", "bob")
        admin.send("/kick bob spamming links, again")
        self.expect(m["bob"], "You have been kicked by an admin. Reason: spamming links, again")
        self.assertClosed(m["bob"], after="the kick notice")
        for client in (admin, m["alice"]):
            self.expect(client, "bob has been kicked from the server. Reason: spamming links, again")
        self.daemon.wait_for_log(r"chat_event=kick .*chat_reason=spamming links, again")
        admin.send("/kick nobody")
        self.expect(admin, "No member is called nobody.")
        admin.send("/kick")
        self.expect(admin, "Usage: /kick <nick> [reason]")
        # Kicked is not banned: bob comes back.
        self.join("bob", source="127.0.0.3")
        for client in (admin, m["alice"]):
            self.expect(client, "bob has joined the chat!")

    def test_ban_with_a_duration_and_reason_then_unban(self):
        admin, m = self.room("alice", "bob")
        admin.send("/ban bob 10m being rude")
        self.expect(m["bob"], "You have been banned by an admin for 10m. Reason: being rude")
        self.assertClosed(m["bob"])
        for client in (admin, m["alice"]):
            self.expect(client, "bob has been banned from the server for 10m. Reason: being rude")
        refused = self.connect(source="127.0.0.3")
        self.expect(refused, "You are banned from this server.")
        self.assertClosed(refused)

        admin.send("/bans")
        self.expect(admin, "Bans (1):")
        self.expect_match(admin, r"  bob \(127\.0\.0\.3\) by admin, (10m|9m 5\ds) left: being rude")

        admin.send("/unban bob")
        for client in (admin, m["alice"]):
            self.expect(client, "The ban on bob has been lifted by admin.")
        self.join("bob", source="127.0.0.3")
        for client in (admin, m["alice"]):
            self.expect(client, "bob has joined the chat!")
        admin.send("/bans")
        self.expect(admin, "No active bans or mutes.")

    def test_ban_a_cidr_range_disconnects_everyone_inside_it(self):
        admin, m = self.room("alice")
        inside = [self.join(nick, source=source) for nick, source in (("in1", "127.0.0.65"), ("in2", "127.0.0.66"))]
        self.expect(admin, "in1 has joined the chat!", "in2 has joined the chat!")
        self.expect(m["alice"], "in1 has joined the chat!", "in2 has joined the chat!")
        self.expect(inside[0], "in2 has joined the chat!")

        admin.send("/ban 127.0.0.0/8")
        self.expect(admin, "127.0.0.0/8 includes your own address; banning it would lock you out too.")

        admin.send("/ban 127.0.0.64/26 2h")
        for client in inside:
            # The one banned second may first hear of the first.
            client.recv_until("You have been banned by an admin for 2h.")
            self.assertClosed(client)
        for client in (admin, m["alice"]):
            self.assertCountEqual(client.recv_n(2), ["in1 has been banned from the server for 2h.",
                                                     "in2 has been banned from the server for 2h."])
        for source in ("127.0.0.64", "127.0.0.127"):
            refused = self.connect(source=source)
            self.expect(refused, "You are banned from this server.")
            self.assertClosed(refused)
        outside = self.join("outside", source="127.0.0.128")
        self.expect(m["alice"], "outside has joined the chat!")
        self.expect(admin, "outside has joined the chat!")

        admin.send("/bans")
        self.expect(admin, "Bans (1):")
        self.expect_match(admin, r"  127\.0\.0\.64/26 by admin, (2h|1h 59m) left")

        admin.send("/unban 127.0.0.70")  # an address inside the range lifts the range
        for client in (admin, m["alice"], outside):
            self.expect(client, "The ban on 127.0.0.64/26 has been lifted by admin.")
        admin.send("/unban 127.0.0.70")
        self.expect(admin, "No ban matches 127.0.0.70.")
        self.join("back", source="127.0.0.65")
        self.expect(admin, "back has joined the chat!")

    def test_ban_an_ipv6_range_and_an_unknown_target(self):
        admin, _ = self.room()
        admin.send("/ban 2001:db8::/32 1d")
        self.expect(admin, "Banned 2001:db8::/32 for 1d.")
        admin.send("/ban not-a-member")
        self.expect(admin, "not-a-member is neither a member's nickname nor an IP address or CIDR range.")
        admin.send("/bans")
        self.expect(admin, "Bans (1):")
        self.expect_match(admin, r"  2001:db8::/32 by admin, (1d|23h 59m) left")

    def test_mute_with_a_duration_refuses_chat_then_unmute(self):
        admin, m = self.room("alice", "carol")
        admin.send("/mute carol 5m too loud")
        self.expect(m["carol"], "You have been muted by an admin for 5m. Reason: too loud")
        for client in (admin, m["alice"]):
            self.expect(client, "carol has been muted for 5m. Reason: too loud")
        left = r"You are muted for (5m|4m 5\ds)\."
        m["carol"].send("can anyone hear me?")
        self.expect_match(m["carol"], left)
        m["carol"].send("/me shouts")
        self.expect_match(m["carol"], left)
        m["carol"].send("/msg alice psst")
        self.expect_match(m["carol"], left)
        # ... and nobody got any of it.
        self.barrier(m["alice"], "alice", [admin, m["alice"], m["carol"]])

        admin.send("/bans")
        self.expect(admin, "Mutes (1):")
        self.expect_match(admin, r"  carol \(127\.0\.0\.3\) by admin, (5m|4m 5\ds) left: too loud")

        # The mute follows the nickname and the address across a reconnect, and a muted
        # member's leaving and joining are not announced to the room.
        m["carol"].disconnect()
        carol = self.join("carol", source="127.0.0.3")
        self.barrier(m["alice"], "alice", [admin, m["alice"], carol])
        carol.send("back again")
        self.expect_match(carol, left)

        admin.send("/unmute carol")
        for client in (admin, m["alice"], carol):
            self.expect(client, "carol has been unmuted by admin.")
        carol.send("thanks")
        for client in (admin, m["alice"], carol):
            self.expect(client, "carol: thanks")
        admin.send("/unmute carol")
        self.expect(admin, "carol is not muted.")

    def test_permanent_mute_says_so(self):
        admin, m = self.room("alice")
        admin.send("/mute alice")
        self.expect(m["alice"], "You have been muted by an admin.")
        m["alice"].send("hi")
        self.expect(m["alice"], "You are muted.")
        self.expect(admin, "alice has been muted.")
        admin.send("/mute admin")
        self.expect(admin, "You cannot /mute yourself.")

    def test_slowmode_refuses_with_the_wait_and_exempts_admins(self):
        admin, m = self.room("alice", "bob")
        admin.send("/slowmode 30")
        for client in (admin, m["alice"], m["bob"]):
            self.expect(client, "Slowmode is on: one message every 30s per member.")
        m["alice"].send("first")
        for client in (admin, m["alice"], m["bob"]):
            self.expect(client, "alice: first")
        m["alice"].send("second")
        self.expect_match(m["alice"], r"Slowmode is on: you may send your next message in (30|2\d)s\.")
        # Admins are not slowed down; others were not sent "second".
        for text in ("a1", "a2"):
            self.barrier(admin, "admin", [admin, m["alice"], m["bob"]], text)
        # bob has his own allowance.
        m["bob"].send("bob's one")
        for client in (admin, m["alice"], m["bob"]):
            self.expect(client, "bob: bob's one")
        admin.send("/slowmode 2d")
        self.expect(admin, "Usage: /slowmode <seconds|off> (at most one day)")
        admin.send("/slowmode off")
        for client in (admin, m["alice"], m["bob"]):
            self.expect(client, "Slowmode is off.")
        m["alice"].send("free again")
        for client in (admin, m["alice"], m["bob"]):
            self.expect(client, "alice: free again")


class HistoryTests(ChatAssertions, DaemonTestCase):
    seed_behaviour = ("--history-lines", "3", "--flood-burst", "1000", "--flood-rate", "1000")

    def test_history_is_replayed_to_a_rejoining_member(self):
        alice = self.join("alice", source="127.0.0.2")
        bob = self.join("bob", source="127.0.0.3")
        self.expect(alice, "bob has joined the chat!")
        for text in ("one", "two", "three"):
            alice.send(text)
            self.expect(alice, f"alice: {text}")
            self.expect(bob, f"alice: {text}")
        bob.send("/me waves")
        self.expect(alice, "* bob waves")
        self.expect(bob, "* bob waves")
        alice.send("/msg bob private, not history")
        self.expect(bob, "[PM from alice] private, not history")
        self.expect(alice, "[PM to bob] private, not history")

        bob.disconnect()
        self.expect(alice, "[CLIENT DISCONNECT - bob]")
        again = self.connect(source="127.0.0.3")
        again.join("bob")
        self.expect(again, "Connected to the server")
        # The last three chat lines, oldest first, with their UTC time; then the join.
        lines = [self.expect_match(again, r"\[history \d\d:\d\d:\d\dZ\] (.*)").group(1) for _ in range(3)]
        self.assertEqual(lines, ["alice: two", "alice: three", "* bob waves"])
        self.expect(again, "bob has joined the chat!")
        self.expect(alice, "bob has joined the chat!")
        self.barrier(alice, "alice", [alice, again])


if __name__ == "__main__":
    unittest.main()
