/// The one version number of chatroomd, chatroom, chatroomctl and chatroom-bench.
public enum ChatroomVersion {
    public static let current = "0.5.0"
}
