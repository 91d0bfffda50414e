"""(c) Watchdog: the first instance pings for 0.5 s and then hangs; later instances keep pinging."""
import os
import signal
import time

from sdhelp import notify

usec = int(os.environ["WATCHDOG_USEC"])
marker = os.path.join(os.environ["RUNTIME_DIRECTORY"], "started-once")
first = not os.path.exists(marker)
open(marker, "w").close()
notify(f"READY=1\nSTATUS={'first' if first else 'second'} instance, WATCHDOG_USEC={usec}")
stop_pinging_at = time.monotonic() + 0.5 if first else float("inf")
while time.monotonic() < stop_pinging_at:
    notify("WATCHDOG=1")
    time.sleep(usec / 4 / 1e6)
while True:
    signal.pause()
