import Glibc

/// Who may use the control socket: root, the daemon's own user, and members of the
/// configured group. Checked with the peer's credentials from the kernel
/// (`SO_PEERCRED`), which a client cannot forge.
struct ControlAccess {
    var groupName: String?

    func allows(uid: UInt32, gid: UInt32) -> Bool {
        if uid == 0 || uid == getuid() { return true }
        guard let groupName, let group = getgrnam(groupName) else { return false }
        let groupID = group.pointee.gr_gid
        if gid == groupID { return true }
        // Supplementary membership: the group's member list, by the peer's user name.
        guard let user = Self.userName(uid), var member = group.pointee.gr_mem else { return false }
        while let name = member.pointee {
            if String(cString: name) == user { return true }
            member += 1
        }
        return false
    }

    static func userName(_ uid: UInt32) -> String? {
        guard let entry = getpwuid(uid) else { return nil }
        return String(cString: entry.pointee.pw_name)
    }
}
