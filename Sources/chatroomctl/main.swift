// chatroomctl: placeholder until the control client lands.
print("chatroomctl: not implemented yet")
