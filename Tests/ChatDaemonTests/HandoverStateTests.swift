@testable import ChatDaemon
import ChatCore
import CLinux
import Foundation
import Glibc
import Testing

@Suite("HandoverState: what a restart hands the next process")
struct HandoverStateTests {
    static func sample() -> HandoverState {
        let room = Room(topic: Topic(text: "t", setBy: "admin", setAt: 1)).snapshot().snapshot
        return HandoverState(version: HandoverState.currentVersion, room: room,
                             connections: [HandoverState.Connection(id: 7, fd: 12, address: "10.0.0.1",
                                                                    input: Data([0x33, 0x20]), output: Data("x".utf8))],
                             listeners: [3, 4], controlListener: 4, controlPath: "/run/x", pausedAt: 42,
                             replyFD: 9, interruptedLogins: [5], decoyHash: nil)
    }

    @Test func writtenState_readsBackTheSame_fromASealedFile() throws {
        let fd = try Self.sample().write()
        #expect(write(fd, "x", 1) == -1 && errno == EPERM, "sealed: nobody can change it on the way")
        let read = try HandoverState.read(fd: fd)
        #expect(read.room == Self.sample().room)
        #expect(read.connections.map(\.input) == [Data([0x33, 0x20])])
        #expect(read.listeners == [3, 4])
        #expect(read.pausedAt == 42)
        #expect(read.replyFD == 9 && read.interruptedLogins == [5])
    }

    @Test func aNewerFormat_isRefusedRatherThanMisread() throws {
        let fd = clinux_memfd("test")
        let text = #"{"version": 99, "whatever": true}"#
        _ = text.withCString { write(fd, $0, strlen($0)) }
        lseek(fd, 0, SEEK_SET)
        #expect(throws: HandoverState.Problem.self) { try HandoverState.read(fd: fd) }
        let other = clinux_memfd("test")
        _ = text.withCString { write(other, $0, strlen($0)) }
        lseek(other, 0, SEEK_SET)
        do {
            _ = try HandoverState.read(fd: other)
        } catch {
            #expect(error.description.contains("version 99; this chatroomd reads up to 1 (a downgrade?)"))
        }
    }
}
