import Glibc

/// A failed system call: which one, and its `errno`, captured on the spot.
public struct SystemCallError: Error, CustomStringConvertible, Equatable, Sendable {
    public let call: String
    public let errno: Int32

    public init(_ call: String, errno: Int32 = Glibc.errno) {
        self.call = call
        self.errno = errno
    }

    public var description: String { "\(call): \(String(cString: strerror(errno)))" }
}

/// The outcome of a non-blocking call: it either did its work or would have blocked.
public enum NonBlocking<Value> {
    case done(Value)
    case wouldBlock
}

/// Runs a call returning -1 on failure: retries `EINTR`, throws anything else.
@inline(__always)
func retryingInterrupts<T: BinaryInteger>(_ call: String, _ body: () -> T) throws(SystemCallError) -> T {
    while true {
        let result = body()
        if result >= 0 { return result }
        let code = errno
        if code == EINTR { continue }
        throw SystemCallError(call, errno: code)
    }
}

/// Like `retryingInterrupts`, but `EAGAIN` is an answer rather than an error.
@inline(__always)
func nonBlocking<T: BinaryInteger>(_ call: String, _ body: () -> T) throws(SystemCallError) -> NonBlocking<T> {
    while true {
        let result = body()
        if result >= 0 { return .done(result) }
        let code = errno
        if code == EINTR { continue }
        if code == EAGAIN || code == EWOULDBLOCK { return .wouldBlock }
        throw SystemCallError(call, errno: code)
    }
}

/// Closes a descriptor we own. `EINTR` from close still means closed on Linux, so it
/// must not be retried (the number may already belong to someone else).
func closeDescriptor(_ fd: Int32) {
    _ = Glibc.close(fd)
}
