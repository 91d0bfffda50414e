// chatroom-bench: placeholder until the benchmark lands.
print("chatroom-bench: not implemented yet")
