"""`chatroom` on a terminal (a tmux pane), used as a person would: pasting, long lines,
resizing, every editing key, history, Tab, highlights and the bell, a taken nickname,
`!DC`, a command typed without its slash, Ctrl-L and Ctrl-Z.

Every wait polls the screen, a socket or a file against a deadline; nothing sleeps to
synchronise. Raw output (colours, the bell) is captured with tmux's pipe-pane.
"""

import os
import tempfile
import time

from chatroomd_fixture import DaemonTestCase, chatroom_binary
from test_terminal_tmux import COLUMNS, PROMPT, SCREEN_DEADLINE, TmuxPane, client_command

POLL_INTERVAL = 0.02


def wait_until(test, predicate, description, timeout=SCREEN_DEADLINE):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            test.fail(f"{description} did not happen within {timeout} s")
        time.sleep(POLL_INTERVAL)


class TerminalPersonTests(DaemonTestCase):
    # Low enough that a paste meets flood control; the client must still deliver all.
    seed_behaviour = ["--history-lines", "0", "--flood-rate", "10", "--flood-burst", "5"]

    def start(self, nick="alice", options="--no-timestamps"):
        bob = self.join("bob")
        pane = TmuxPane(self, client_command(self.port, nick, options))
        pane.wait_for(lambda lines: f"{nick} has joined the chat!" in lines and lines[-1] == PROMPT.rstrip(),
                      "the join and the prompt")
        self.assertEqual(bob.recv(), f"{nick} has joined the chat!")
        return pane, bob

    def capture_raw(self, pane):
        """Everything the pane prints from now on, as bytes, read with `raw()`."""
        directory = tempfile.TemporaryDirectory(prefix="chatroom-raw-")
        self.addCleanup(directory.cleanup)
        path = os.path.join(directory.name, "raw")
        pane.run("pipe-pane", "-o", "-t", pane.target, f"cat >> {path}")
        return lambda: open(path, "rb").read() if os.path.exists(path) else b""

    def exit_lines(self, pane):
        return pane.wait_for(lambda lines: any(line.startswith("TTY=") for line in lines), "the exit status")

    def test_pasting_fifty_lines_delivers_every_one_in_order(self):
        pane, bob = self.start()
        lines = [f"pasted line {i}" for i in range(1, 51)]
        pane.run("set-buffer", "-b", "paste", "\n".join(lines) + "\n")
        pane.run("paste-buffer", "-b", "paste", "-t", pane.target)
        self.assertEqual(bob.recv_n(50), [f"alice: {line}" for line in lines])
        screen = pane.wait_for(lambda s: s[-2:] == ["alice: pasted line 50", PROMPT.rstrip()], "the last line and an empty prompt")
        shown = [line for line in screen if line.startswith("alice: pasted")]
        self.assertEqual(shown, [f"alice: {line}" for line in lines][-len(shown):])
        self.assertFalse(any("too fast" in line for line in screen), "a flood refusal reached the screen")

    def test_a_70000_character_line_is_refused_locally_and_the_client_stays(self):
        pane, bob = self.start()
        directory = tempfile.TemporaryDirectory(prefix="chatroom-long-")
        self.addCleanup(directory.cleanup)
        path = os.path.join(directory.name, "long")
        with open(path, "w") as file:
            file.write("y" * 70_000)
        pane.run("load-buffer", "-b", "long", path)
        pane.run("paste-buffer", "-b", "long", "-t", pane.target)
        screen = pane.wait_for(lambda s: s[-1].startswith(PROMPT + "<") and s[-1].endswith("y"), "the end of the long line")
        self.assertLess(len(screen[-1]), COLUMNS, "the input row wrapped")
        pane.press("Enter")
        screen = pane.wait_for(lambda s: any("not sent" in line for line in s), "the refusal")
        joined = "".join(screen)  # the message may wrap
        self.assertRegex(joined, r'not sent: line 1 "y+…": 70000 bytes is longer than the 65536 the server accepts')
        pane.type("still here")
        pane.press("Enter")
        self.assertEqual(bob.recv(), "alice: still here", "the long line reached the room, or the client left")

    def test_resize_while_typing_redraws_the_input_row(self):
        pane, _ = self.start()
        text = "".join(f"word{i} " for i in range(12)).strip()  # 70 columns
        pane.type(text)
        pane.wait_for(lambda s: s[-1] == PROMPT + text, "the typed line")
        pane.run("resize-window", "-t", pane.target, "-x", "40")
        screen = pane.wait_for(lambda s: s[-1].startswith(PROMPT + "<") and s[-1].endswith("word11"),
                               "the line redrawn for 40 columns")
        self.assertLessEqual(len(screen[-1]), 40)
        self.assertEqual(pane.cursor()[0], len(screen[-1]))
        pane.run("resize-window", "-t", pane.target, "-x", str(COLUMNS))
        pane.wait_for(lambda s: s[-1] == PROMPT + text, "the whole line again after widening")

    def test_every_editing_key(self):
        pane, bob = self.start()
        steps = [
            ("type", "world"), ("press", "Home"), ("type", "hello "), ("press", "End"), ("type", "!"),
            ("press", "C-a"), ("press", "M-f"), ("type", ","),              # hello, world!
            ("press", "C-e"), ("press", "M-b"), ("press", "C-k"),           # hello, |
            ("type", "wide 👨‍👩‍👧 x"), ("press", "Left"), ("press", "Left"), ("press", "BSpace"),  # hello, wide | x
            ("type", "family"), ("press", "Right"), ("press", "Right"),     # hello, wide family x|
            ("press", "C-w"), ("type", "there"),                             # hello, wide family there
        ]
        for action, argument in steps:
            getattr(pane, action)(argument)
        pane.wait_for(lambda s: s[-1] == PROMPT + "hello, wide family there", "the edited line")
        self.assertEqual(pane.cursor()[0], len(PROMPT + "hello, wide family there"))
        pane.press("C-a")
        pane.press("Right")
        pane.wait_for(lambda s: pane.cursor()[0] == len(PROMPT) + 1, "the cursor after one Right")
        pane.press("Enter")
        self.assertEqual(bob.recv(), "alice: hello, wide family there")
        pane.type("drop this")
        pane.press("C-u")
        pane.type("kept")
        pane.press("Enter")
        self.assertEqual(bob.recv(), "alice: kept")

    def test_history_recalls_sent_lines(self):
        pane, bob = self.start()
        for line in ["first", "second"]:
            pane.type(line)
            pane.press("Enter")
            self.assertEqual(bob.recv(), f"alice: {line}")
        pane.type("draft")
        pane.press("Up")
        pane.wait_for(lambda s: s[-1] == PROMPT + "second", "the newest line")
        pane.press("Up")
        pane.wait_for(lambda s: s[-1] == PROMPT + "first", "the older line")
        pane.press("Down")
        pane.press("Down")
        pane.wait_for(lambda s: s[-1] == PROMPT + "draft", "the draft back")
        pane.press("C-u")
        pane.press("Up")
        pane.press("Up")
        pane.press("Enter")
        self.assertEqual(bob.recv(), "alice: first")

    def test_tab_completes_nicknames_and_commands(self):
        pane, bob = self.start()
        self.join("carol")
        self.assertEqual(bob.recv(), "carol has joined the chat!")
        pane.wait_for_line("carol has joined the chat!")
        pane.type("ca")
        pane.press("Tab")
        pane.wait_for(lambda s: s[-1] == PROMPT + "carol:", "the completed nickname")
        pane.type("hi")
        pane.press("Enter")
        self.assertEqual(bob.recv(), "alice: carol: hi")
        pane.type("/wh")
        pane.press("Tab")
        pane.wait_for(lambda s: s[-1] == PROMPT + "/who", "the completed command")
        pane.press("Enter")
        pane.wait_for_line("3 members: alice, bob, carol")

    def test_mentions_and_private_messages_are_highlighted_with_the_bell(self):
        pane, bob = self.start()
        raw = self.capture_raw(pane)
        bob.send("plain words")
        bob.send("hey alice, look")
        pane.wait_for_line("bob: hey alice, look")
        bob.send("/msg alice psst")
        pane.wait_for_line("[PM from bob] psst")
        wait_until(self, lambda: b"psst" in raw(), "the raw capture of the private message")
        output = raw()
        self.assertEqual(output.count(b"\x07"), 2, f"expected two bells, got: {output!r}")
        self.assertRegex(output, rb"\x1b\[1m[^\r]*hey alice, look", "the mention is not bold")
        self.assertRegex(output, rb"\x1b\[9?\dmbob\x1b\[0m: plain words", "bob's nick is not coloured")
        self.assertNotRegex(output, rb"\x1b\[1m[^\r]*plain words")

    def test_no_color_gives_plain_text_and_timestamps_are_on_by_default(self):
        bob = self.join("bob")
        pane = TmuxPane(self, "NO_COLOR=1 " + client_command(self.port, "alice", options="--no-bell"))
        raw = self.capture_raw(pane)
        pane.wait_for(lambda s: any(line.endswith("alice has joined the chat!") for line in s), "the join")
        self.assertEqual(bob.recv(), "alice has joined the chat!")
        bob.send("hello alice")
        screen = pane.wait_for(lambda s: any(line.endswith("bob: hello alice") for line in s), "bob's line")
        line = next(line for line in screen if line.endswith("bob: hello alice"))
        self.assertRegex(line, r"^\d\d:\d\d bob: hello alice$")
        wait_until(self, lambda: b"hello alice" in raw(), "the raw capture")
        self.assertNotRegex(raw(), rb"\x1b\[[0-9;]*m", "colour codes despite NO_COLOR")
        self.assertNotIn(b"\x07", raw(), "the bell rang despite --no-bell")

    def test_a_taken_nickname_is_asked_again(self):
        bob = self.join("bob")
        pane = TmuxPane(self, client_command(self.port, "bob"))
        pane.wait_for(lambda s: s[-1:] == ["Nickname:"] and any("already in use" in line for line in s),
                      "the refusal and a new prompt")
        pane.type("carol")
        pane.press("Enter")
        self.assertEqual(bob.recv(), "carol has joined the chat!")
        pane.type("hi")
        pane.press("Enter")
        self.assertEqual(bob.recv(), "carol: hi")

    def test_dc_leaves_cleanly_with_status_zero(self):
        pane, bob = self.start()
        pane.type("!DC")
        pane.press("Enter")
        lines = self.exit_lines(pane)
        self.assertIn("EXIT=0", lines)
        self.assertIn("TTY=icanon,echo,", lines)
        self.assertFalse(any("disconnected" in line for line in lines), "\n".join(lines))
        self.assertEqual(bob.recv(), "[CLIENT DISCONNECT - alice]")

    def test_a_command_without_its_slash_asks_before_sending(self):
        pane, bob = self.start()
        pane.type("login alice secret")
        pane.press("Enter")
        pane.wait_for(lambda s: any("looks like /login" in line for line in s) and s[-1] == PROMPT + "login alice secret",
                      "the question with the line kept")
        pane.press("C-a")
        pane.type("/")
        pane.press("Enter")
        pane.wait_for_line("Login failed: unknown account or wrong password.")
        self.barrier(bob, "nothing of the login reached the room")
        pane.type("nick is a word")
        pane.press("Enter")
        self.assertEqual(bob.recv(), "alice: nick is a word")
        pane.type("nick carol")
        pane.press("Enter")
        pane.wait_for(lambda s: any("looks like /nick" in line for line in s), "the question")
        pane.press("Enter")
        self.assertEqual(bob.recv(), "alice: nick carol")

    def barrier(self, bob, message):
        bob.send("barrier")
        self.assertEqual(bob.recv(), "bob: barrier", message)

    def test_ctrl_l_clears_the_screen_and_keeps_the_line(self):
        pane, _ = self.start()
        pane.type("keep me")
        pane.press("C-l")
        pane.wait_for(lambda s: s == [PROMPT + "keep me"], "only the input row")

    def test_ctrl_z_suspends_with_the_terminal_restored_and_resumes(self):
        """As a person does it: the client started from an interactive shell, Ctrl-Z,
        the shell's own prompt and a sane terminal, then `fg`."""
        bob = self.join("bob")
        pane = TmuxPane(self, "PS1='$ ' bash --norc --noprofile -i")
        pane.wait_for(lambda s: s[-1:] == ["$"], "the shell prompt")
        pane.type(f"{chatroom_binary()} --port {self.port} --nick alice --no-timestamps")
        pane.press("Enter")
        self.assertEqual(bob.recv(), "alice has joined the chat!")
        pane.wait_for(lambda s: s[-1] == PROMPT.rstrip(), "the client's prompt")
        pane.type("typed before")
        pane.press("C-z")
        pane.wait_for(lambda s: any("Stopped" in line for line in s) and s[-1] == "$", "the shell back")
        pane.type("stty -a | grep -o -w -e '-\\?icanon' -e '-\\?echo' | tr '\\n' ,; echo")
        pane.press("Enter")
        pane.wait_for_line("icanon,echo,")
        pane.type("fg")
        pane.press("Enter")
        pane.wait_for(lambda s: s[-1] == PROMPT + "typed before", "the line redrawn after fg")
        pane.type(" and after")
        pane.press("Enter")
        self.assertEqual(bob.recv(), "alice: typed before and after")
