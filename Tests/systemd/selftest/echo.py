"""(b) Socket activation: accepts on the inherited fd 3 and echoes one line per connection."""
import os
import socket

SD_LISTEN_FDS_START = 3
fds = int(os.environ.get("LISTEN_FDS", "0"))
names = os.environ.get("LISTEN_FDNAMES", "")
pid_ok = os.environ.get("LISTEN_PID") == str(os.getpid())
listener = socket.socket(fileno=SD_LISTEN_FDS_START)
while True:
    conn, _ = listener.accept()
    with conn:
        line = conn.makefile("rb").readline().strip().decode()
        conn.sendall(f"echo: {line} LISTEN_FDS={fds} LISTEN_FDNAMES={names} LISTEN_PID_ok={pid_ok}\n".encode())
