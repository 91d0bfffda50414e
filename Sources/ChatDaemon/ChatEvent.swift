/// The journal's `MESSAGE_ID` for each `CHAT_EVENT`: fixed forever, so operators can
/// query by them (`journalctl MESSAGE_ID=...`) and `journalctl -x` can show the
/// explanation from `packaging/chatroomd.catalog`. Changing an ID breaks saved queries.
public enum ChatEvent {
    public static let messageIDs: [String: String] = [
        "start": "fe40299aa42e4286b2e1a2a81cde0b2b",
        "stop": "4c51abd4100b4d5f80128e274eee9a26",
        "shutdown": "06862da73f714d5caa64644ed1e20f27",
        "reload": "a33780e11bad4990afef4c7074ee3e95",
        "reload-failed": "013d4c1461974518ae04f451eb1c0d37",
        "listen": "487882a54aea477091aa871dc8fbab9c",
        "join": "d74d9c516b764120965deb0f675e7bbf",
        "leave": "cb138371e255461ea7b73ebd4af02b51",
        "message": "32e254e55eda4f01b3fa4f3927d5a0ec",
        "kick": "0f29a510f7ac4eb7822a663555f41c63",
        "ban": "aa85bb8be6324b37947ecdd9d9c40e95",
        "admin-login": "59bc17351a3c494b9c2a1a803d1b473a",
        "admin-login-failed": "2b11fdd56d9d4f2298c9dacbc119680e",
        "join-refused": "49a06d27ed70462ea0d6ee9288603f15",
        "banned-connection-refused": "71c97afe48f14b919861b70fb3dcb731",
        "protocol-error": "2ee3d5a1a96f4ac69147bcf35f6e176c",
        "send-queue-exceeded": "47bf2e3f63a64b22a96d35d87101d490",
        "accept-paused": "f6f79e3cf89d461e9f405911b216a610",
        "state-save-failed": "6fe7327ef5244c85a476a415f24e6908",
    ]
}
