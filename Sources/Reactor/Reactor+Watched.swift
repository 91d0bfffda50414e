import CLinux
import Glibc

/// A descriptor of the caller's (a client library's socket) watched for readability and
/// writability as the library asks, and removable: what hiredis's event hooks need.
/// `watchReadable` stays for descriptors that are only ever read and live as long as the
/// loop (the password checkers' eventfd).
public struct WatchID: Hashable, Sendable {
    let index: UInt32
    let generation: UInt32
}

struct WatchedDescriptor {
    var fd: Int32 = -1
    var generation: UInt32 = 0
    var readable = false
    var writable = false
    var handler: ((_ readable: Bool, _ writable: Bool) -> Void)? = nil
}

extension Reactor {
    /// Watches `fd`, initially for nothing; `setInterest` says what to wait for. The
    /// handler runs in the loop with what is ready. The descriptor stays the caller's.
    public func watch(fd: Int32, _ handler: @escaping (_ readable: Bool, _ writable: Bool) -> Void) throws(SystemCallError) -> WatchID {
        let index = watched.firstIndex { $0.handler == nil } ?? { watched.append(WatchedDescriptor()); return watched.count - 1 }()
        watched[index].generation &+= 1
        watched[index].generation &= 0x0FFF_FFFF
        let id = WatchID(index: UInt32(index), generation: watched[index].generation)
        try control(EPOLL_CTL_ADD, fd, 0, token(id))
        watched[index].fd = fd
        watched[index].readable = false
        watched[index].writable = false
        watched[index].handler = handler
        return id
    }

    /// Changes what the loop waits for on a watched descriptor; idempotent.
    public func setInterest(_ id: WatchID, readable: Bool? = nil, writable: Bool? = nil) {
        guard let index = liveWatch(id) else { return }
        let read = readable ?? watched[index].readable
        let write = writable ?? watched[index].writable
        guard read != watched[index].readable || write != watched[index].writable else { return }
        watched[index].readable = read
        watched[index].writable = write
        let events = (read ? CLINUX_EPOLLIN : 0) | (write ? CLINUX_EPOLLOUT : 0)
        _ = try? control(EPOLL_CTL_MOD, watched[index].fd, events, token(id))
    }

    /// Stops watching (before the caller closes the descriptor). Events already collected
    /// for it this turn are dropped by the generation check.
    public func unwatch(_ id: WatchID) {
        guard let index = liveWatch(id) else { return }
        _ = try? control(EPOLL_CTL_DEL, watched[index].fd, 0, 0)
        watched[index].handler = nil
        watched[index].fd = -1
    }

    func dispatchWatched(mask: UInt32, token: UInt64) {
        let id = WatchID(index: UInt32(token & 0xFFFF_FFFF), generation: UInt32((token >> 32) & 0x0FFF_FFFF))
        guard let index = liveWatch(id), let handler = watched[index].handler else { return }
        let failed = mask & (CLINUX_EPOLLERR | CLINUX_EPOLLHUP) != 0
        let readable = mask & CLINUX_EPOLLIN != 0 || (failed && watched[index].readable)
        let writable = mask & CLINUX_EPOLLOUT != 0 || (failed && watched[index].writable)
        handler(readable, writable)
    }

    private func liveWatch(_ id: WatchID) -> Int? {
        let index = Int(id.index)
        guard index < watched.count, watched[index].generation == id.generation, watched[index].handler != nil else { return nil }
        return index
    }

    private func token(_ id: WatchID) -> UInt64 {
        Token.watcher | Token.changeableWatch | UInt64(id.generation) << 32 | UInt64(id.index)
    }
}
