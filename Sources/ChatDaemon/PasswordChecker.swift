import ChatCore
import CLinux
import Foundation
import Glibc
import Reactor

/// Checks passwords off the event loop. A slow salted hash (yescrypt: ~20 ms) checked on
/// the loop lets a few hundred login attempts freeze the room for seconds; here a couple of
/// worker threads check them and hand the answers back through an eventfd that the loop
/// watches. The workers touch nothing but the check they are given (a verifier and a
/// password, both immutable); sockets, the Room and every buffer stay the loop's.
///
/// The queue is bounded by the Room, which refuses logins past `passwordChecksInFlight`.
final class PasswordChecker: @unchecked Sendable {
    private let condition = NSCondition()
    private var queue: [PasswordCheck] = []
    private var answers: [(id: UInt64, matched: Bool)] = []
    private var stopping = false
    private var threads: [Thread] = []
    private var running = 0
    private let wakeFD: Int32

    /// - Parameter deliver: called on the loop with each answer.
    init(workers: Int, reactor: Reactor, deliver: @escaping (UInt64, Bool) -> Void) throws(SystemCallError) {
        wakeFD = eventfd(0, Int32(EFD_NONBLOCK) | Int32(EFD_CLOEXEC))
        guard wakeFD >= 0 else { throw SystemCallError("eventfd", errno: errno) }
        try reactor.watchReadable(fd: wakeFD) { [unowned self] in
            var count: UInt64 = 0
            _ = read(wakeFD, &count, MemoryLayout<UInt64>.size)
            for answer in takeAnswers() { deliver(answer.id, answer.matched) }
        }
        for index in 0..<max(workers, 1) {
            // Strong: a worker may outlive a failed start until the process exits, and must
            // never find its pool gone.
            let thread = Thread { self.work() }
            thread.name = "password-check-\(index)"
            threads.append(thread)
            running += 1
            thread.start()
        }
    }

    func submit(_ check: PasswordCheck) {
        condition.lock()
        queue.append(check)
        condition.signal()
        condition.unlock()
    }

    /// Stops the workers once the checks they hold are done; waits for them.
    func stop() {
        condition.lock()
        stopping = true
        queue.removeAll()
        condition.broadcast()
        while running > 0 { condition.wait() }
        // The threads' closures hold this pool: let go of them, or the pool never goes.
        threads.removeAll()
        condition.unlock()
        close(wakeFD)
    }

    private func work() {
        condition.lock()
        while true {
            while queue.isEmpty && !stopping { condition.wait() }
            if stopping { break }
            let check = queue.removeFirst()
            condition.unlock()
            let matched = check.verifier.verify(password: check.password)
            condition.lock()
            answers.append((check.id, matched))
            var one: UInt64 = 1
            _ = write(wakeFD, &one, MemoryLayout<UInt64>.size)
        }
        running -= 1
        condition.broadcast()
        condition.unlock()
    }

    private func takeAnswers() -> [(id: UInt64, matched: Bool)] {
        condition.lock()
        defer { condition.unlock() }
        let taken = answers
        answers.removeAll()
        return taken
    }
}
