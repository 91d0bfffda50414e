"""(d) DynamicUser: reports who it runs as, bumps a counter in $STATE_DIRECTORY, reads a credential."""
import os
import pwd

state = os.environ["STATE_DIRECTORY"]
counter_path = os.path.join(state, "counter")
count = 1
if os.path.exists(counter_path):
    with open(counter_path) as f:
        count = int(f.read()) + 1
with open(counter_path, "w") as f:
    f.write(str(count))
with open(os.path.join(os.environ["CREDENTIALS_DIRECTORY"], "token")) as f:
    token = f.read().strip()
uid = os.getuid()
print(f"uid={uid} user={pwd.getpwuid(uid).pw_name} state={state} counter={count} token={token}", flush=True)
