import Glibc

/// Whether stderr is connected to the journal: systemd sets `$JOURNAL_STREAM` to the
/// `device:inode` of the stream it hands the service. Comparing with stderr's own
/// identity (rather than only checking the variable exists) avoids logging to the journal
/// from a child whose stderr was redirected elsewhere.
public enum JournalStream {
    public static func isStandardErrorJournal() -> Bool {
        guard let value = getenv("JOURNAL_STREAM") else { return false }
        let parts = String(cString: value).split(separator: ":")
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else { return false }
        var status = stat()
        guard fstat(STDERR_FILENO, &status) == 0 else { return false }
        return UInt64(status.st_dev) == device && UInt64(status.st_ino) == inode
    }
}
