"""Nicknames people can tell apart (issue 10, finding 7), end to end against the daemon
with its ICU rules: invisible characters are refused with a reason naming them, a
lookalike of a member's nick is "in use", and a lookalike of the admin nick is reserved.
Every wait is a blocking read with a deadline.
"""

import unittest

from chat_test_support import ChatAssertions
from chatroomd_fixture import DaemonTestCase

INVALID_TAIL = ". Use up to 32 bytes with at least one letter or digit, and no spaces."
RESERVED = "The nickname admin is reserved. Log in with admin:<password> instead."
CYRILLIC_A = "\u0430"
CYRILLIC_ER = "\u0440"


def in_use(nick):
    return f"The nickname {nick} is already in use. Choose another one."


class NicknameTests(ChatAssertions, DaemonTestCase):

    def refused(self, nick, reply):
        """Joins as `nick` and expects `reply`, then the close."""
        client = self.connect()
        client.join(nick)
        self.assertEqual(client.recv(), reply)
        self.assertClosed(client, after=reply)

    def test_an_invisible_character_is_refused_with_its_name(self):
        self.refused("adm\u034Fin", "Invalid nickname: it contains an invisible character "
                                    "(U+034F COMBINING GRAPHEME JOINER)" + INVALID_TAIL)
        self.refused("admin\uFE0F", "Invalid nickname: it contains an invisible character "
                                    "(U+FE0F VARIATION SELECTOR-16)" + INVALID_TAIL)
        self.refused("bob\u2800", "Invalid nickname: it contains U+2800 BRAILLE PATTERN BLANK, "
                                  "which nicknames may not use" + INVALID_TAIL)

    def test_no_one_can_sit_next_to_a_member_under_an_invisible_variant(self):
        victim = self.join("victim")
        self.refused("victim\u034F", "Invalid nickname: it contains an invisible character "
                                     "(U+034F COMBINING GRAPHEME JOINER)" + INVALID_TAIL)
        victim.send("/nick victim\u3164")
        self.assertEqual(victim.recv(), "Invalid nickname: it contains an invisible character "
                                        "(U+3164 HANGUL FILLER)" + INVALID_TAIL)
        victim.send("/who")
        self.assertEqual(victim.recv(), "1 member: victim")

    def test_a_lookalike_of_the_admin_nick_is_reserved(self):
        self.refused("admin", RESERVED)
        self.refused(CYRILLIC_A + "dmin", RESERVED)
        member = self.join("member")
        member.send("/nick " + CYRILLIC_A + "DMIN")
        self.assertEqual(member.recv(), RESERVED)

    def test_lookalikes_and_case_variants_collide(self):
        paypal = self.join("paypal")
        impostor = CYRILLIC_ER + CYRILLIC_A + "ypal"
        self.refused(impostor, in_use(impostor))
        self.refused("PayPal", in_use("PayPal"))
        alice = self.join("Alice")
        self.expect(paypal, "Alice has joined the chat!")
        self.refused("alice", in_use("alice"))
        alice.send("/nick p" + CYRILLIC_A + "ypal")
        self.assertEqual(alice.recv(), in_use("p" + CYRILLIC_A + "ypal"))
        # Lookups follow the same key: a private message to the lookalike reaches paypal.
        alice.send("/msg " + impostor + " hello")
        self.assertEqual(paypal.recv(), "[PM from Alice] hello")
        self.assertEqual(alice.recv(), "[PM to paypal] hello")

    def test_ordinary_names_in_several_scripts_are_accepted_side_by_side(self):
        names = ["Zoë", "José", "李雷", "Ελένη", "Владимир", "user_42"]
        clients = [self.join(name) for name in names]
        clients[0].send("/who")
        listed = clients[0].recv_until(lambda text: text.startswith("6 members: "))[-1]
        self.assertEqual(sorted(listed[len("6 members: "):].split(", ")), sorted(names))


if __name__ == "__main__":
    unittest.main()
