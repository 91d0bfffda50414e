@testable import ChatDaemon
import ChatCore
import CLinux
import Foundation
import Glibc
import Testing

@Suite("HandoverState: what a restart hands the next process")
struct HandoverStateTests {
    static func room() -> RoomSnapshot {
        RoomSnapshot(
            version: RoomSnapshot.currentVersion,
            connections: [
                .init(id: 7, address: "10.0.0.1", peer: "10.0.0.1:5000", openedAt: 0,
                      member: .init(nick: "alice", isAdmin: true, account: "root", floodTokens: 2.5, floodUpdatedAt: 99,
                                    floodStrikes: 1, lastMessageAt: 98)),
                .init(id: 8, address: "::1", peer: "[::1]:6000", openedAt: 77, member: nil),
            ],
            sanctions: [.init(kind: "mute", range: "10.0.0.0/8", nick: "bob", reason: "spam é", setBy: "root", setAt: 5, expiresAt: nil)],
            history: [.init(unixSeconds: 1_700_000_000, text: "alice: hi", address: "10.0.0.1")],
            topic: "t", topicSetBy: "admin", topicSetAt: 1, slowmodeSeconds: 3, relayedMessageCount: 12)
    }

    static func sample() -> HandoverState {
        var state = HandoverState(room: room(),
                                  connections: [HandoverState.Connection(id: 7, fd: 12, inode: 4242, address: "10.0.0.1",
                                                                         input: [0x33, 0x20], output: Array("x".utf8))],
                                  listeners: [3, 4], controlListener: 4, controlPath: "/run/x", pausedAt: 42,
                                  replyFD: 9, interruptedLogins: [5], decoyHash: "$y$hash")
        state.journalFDs = [20, 21]
        return state
    }

    static func memoryFile(_ bytes: [UInt8]) -> Int32 {
        let fd = clinux_memfd("test")
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        lseek(fd, 0, SEEK_SET)
        return fd
    }

    @Test func writtenState_readsBackTheSame_fromASealedFile() throws {
        let fd = try Self.sample().write()
        #expect(write(fd, "x", 1) == -1 && errno == EPERM, "sealed: nobody can change it on the way")
        let read = try HandoverState.read(fd: fd)
        #expect(read.version == HandoverState.currentVersion)
        #expect(read.room == Self.room())
        #expect(read.connections.map(\.input) == [[0x33, 0x20]] && read.connections.map(\.output) == [Array("x".utf8)])
        #expect(read.connections.map(\.inode) == [4242] && read.connections.map(\.fd) == [12])
        #expect(read.listeners == [3, 4] && read.controlListener == 4 && read.controlPath == "/run/x")
        #expect(read.pausedAt == 42 && read.decoyHash == "$y$hash" && read.journalFDs == [20, 21])
        #expect(read.replyFD == 9 && read.interruptedLogins == [5])
    }

    @Test func formatOne_asChatroomd030WroteIt_isStillRead() throws {
        struct Version1: Encodable {
            struct Connection: Encodable { var id: UInt64; var fd: Int32; var address: String; var input: Data; var output: Data }
            var version = 1
            var room: RoomSnapshot
            var connections: [Connection]
            var listeners: [Int32] = [3]
            var pausedAt: UInt64 = 7
            var interruptedLogins: [UInt64] = []
        }
        let json = try JSONEncoder().encode(Version1(room: Self.room(), connections: [.init(id: 7, fd: 12, address: "10.0.0.1",
                                                                                            input: Data([1]), output: Data([2]))]))
        let read = try HandoverState.read(fd: Self.memoryFile(Array(json)))
        #expect(read.version == 1 && read.room == Self.room())
        #expect(read.connections.map(\.fd) == [12] && read.connections.map(\.inode) == [0])
        #expect(read.connections.map(\.input) == [[1]] && read.listeners == [3] && read.pausedAt == 7)
    }

    @Test func aNewerFormat_isRefusedRatherThanMisread() throws {
        var bytes = Self.sample().encoded()
        bytes[HandoverState.magic.count] = 99
        do {
            _ = try HandoverState.read(fd: Self.memoryFile(bytes))
            Issue.record("a newer format was read")
        } catch {
            #expect(error.isNewer)
            #expect(error.description.contains("format 99; this chatroomd"))
            #expect(error.description.contains("(a downgrade?)"))
        }
    }

    @Test func everyTruncation_isAProblemNotACrash() {
        let bytes = Self.sample().encoded()
        for length in 0..<bytes.count {
            #expect(throws: HandoverState.Problem.self) { try HandoverState.decode(Array(bytes[..<length])) }
        }
        #expect(throws: HandoverState.Problem.self) { try HandoverState.decode(Array(#"{"version": 99}"#.utf8)) }
    }
}

@Suite("CrashJournal: who each stored connection is, after a crash")
struct CrashJournalTests {
    static func member(_ id: UInt64, _ nick: String) -> RoomSnapshot.Connection {
        .init(id: id, address: "10.0.0.\(id)", peer: "10.0.0.\(id):1", openedAt: 0,
              member: .init(nick: nick, isAdmin: false, account: nil, floodTokens: 1, floodUpdatedAt: 0, floodStrikes: 0, lastMessageAt: nil))
    }

    static func base() -> RoomSnapshot {
        var room = HandoverStateTests.room()
        room.connections = [member(1, "alice"), member(2, "bob")]
        return room
    }

    @Test func recordsAfterTheBase_areApplied() throws {
        let journal = try CrashJournal()
        try journal.rebase(Self.base(), inodes: [1: 101, 2: 102])
        try journal.append([.connection(Self.member(3, "carol"), inode: 103), .gone(id: 1)])
        try journal.append([.connection(Self.member(2, "robert"), inode: 102)])
        let (snapshot, inodes, sequence) = try CrashJournal.read(journal.fds)
        #expect(snapshot.connections.map(\.member?.nick) == ["robert", "carol"])
        #expect(inodes == [2: 102, 3: 103])
        #expect(snapshot.sanctions == Self.base().sanctions && snapshot.topic == "t")
        #expect(sequence == 1)
    }

    @Test func aTornLastRecord_isIgnored_andTheRestKept() throws {
        let journal = try CrashJournal()
        try journal.rebase(Self.base(), inodes: [1: 101, 2: 102])
        try journal.append([.connection(Self.member(3, "carol"), inode: 103)])
        try journal.append([.connection(Self.member(4, "dave"), inode: 104)])
        var status = stat()
        fstat(journal.fds[journal.activeIndex], &status)
        ftruncate(journal.fds[journal.activeIndex], status.st_size - 3)  // the crash hit mid-write
        let (snapshot, inodes, _) = try CrashJournal.read(journal.fds)
        #expect(snapshot.connections.map(\.member?.nick) == ["alice", "bob", "carol"])
        #expect(inodes[4] == nil)
    }

    @Test func aTornBase_fallsBackToTheOtherFile() throws {
        let journal = try CrashJournal()
        try journal.rebase(Self.base(), inodes: [1: 101, 2: 102])
        try journal.append([.connection(Self.member(3, "carol"), inode: 103)])
        var next = Self.base()
        next.connections = [Self.member(9, "zed")]
        try journal.rebase(next, inodes: [9: 109])
        #expect(try CrashJournal.read(journal.fds).snapshot.connections.map(\.member?.nick) == ["zed"])
        // The crash hit while the newest base was being written: its bytes are not those
        // its header vouches for.
        _ = pwrite(journal.fds[journal.activeIndex], "garbage", 7, off_t(CrashJournal.headerLength + 4))
        let (snapshot, _, sequence) = try CrashJournal.read(journal.fds)
        #expect(snapshot.connections.map(\.member?.nick) == ["alice", "bob", "carol"])
        #expect(sequence == 1)
        #expect(CrashJournal.highestSequence(journal.fds) == 2, "a successor numbers its bases after the torn one too")
    }

    @Test func aSuccessorsFirstBase_goesIntoTheOlderFile_whicheverOrderTheStoreGives() throws {
        for reversed in [false, true] {
            let journal = try CrashJournal()
            try journal.rebase(Self.base(), inodes: [1: 101, 2: 102])
            var next = Self.base()
            next.connections = [Self.member(9, "zed")]
            try journal.rebase(next, inodes: [9: 109])
            let successor = CrashJournal(files: reversed ? journal.fds.reversed() : journal.fds)
            #expect(successor.fds[successor.activeIndex] == journal.fds[journal.activeIndex], "starts from the newest")
            var torn = Self.base()
            torn.connections = [Self.member(7, "yan")]
            try successor.rebase(torn, inodes: [7: 107])
            // Torn while being written: the newest whole base must still be there.
            _ = pwrite(successor.fds[successor.activeIndex], "garbage", 7, off_t(CrashJournal.headerLength + 4))
            #expect(try CrashJournal.read(journal.fds).snapshot.connections.map(\.member?.nick) == ["zed"])
        }
    }

    @Test func aHeaderClaimingAnImpossibleLength_isAnError() throws {
        let journal = try CrashJournal()
        try journal.rebase(Self.base(), inodes: [:])
        var length = UInt64.max.littleEndian
        _ = pwrite(journal.fds[journal.activeIndex], &length, 8, off_t(CrashJournal.magic.count + 16))
        #expect(throws: CrashJournal.Problem.self) { try CrashJournal.read(journal.fds) }
    }

    @Test func aNewerFormat_isRefused() throws {
        let journal = try CrashJournal()
        try journal.rebase(Self.base(), inodes: [:])
        var version = UInt32(99).littleEndian
        _ = pwrite(journal.fds[journal.activeIndex], &version, 4, off_t(CrashJournal.magic.count))
        do {
            _ = try CrashJournal.read(journal.fds)
            Issue.record("a newer journal was read")
        } catch {
            #expect(error.isNewer && error.description.contains("format 99"))
        }
    }
}
