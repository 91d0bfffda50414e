"""(a) Type=notify: becomes ready after a short delay and reports a status line."""
import signal
import time

from sdhelp import notify

time.sleep(0.3)
notify("READY=1\nSTATUS=chatroomd-test: ready, 0 rooms")
while True:
    signal.pause()
