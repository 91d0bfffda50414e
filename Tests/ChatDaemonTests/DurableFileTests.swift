@testable import ChatDaemon
import ChatCore
import Foundation
import Glibc
import Synchronization
import Testing

@Suite("DurableFile: atomic, durable replace")
struct DurableFileTests {
    @Test func replace_createsTheFile_thenReplacesItsContents() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("state.json")
        try DurableFile.replace(path, with: Array("first\n".utf8))
        #expect(directory.contents("state.json") == "first\n")
        try DurableFile.replace(path, with: Array("second, longer than the first\n".utf8))
        #expect(directory.contents("state.json") == "second, longer than the first\n")
        try DurableFile.replace(path, with: Array("3".utf8))
        #expect(directory.contents("state.json") == "3")
        // Nothing but the file itself is left behind.
        #expect(directory.names() == ["state.json"])
    }

    @Test func replace_withNothing_leavesAnEmptyFile() throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write("state.json", "old")
        try DurableFile.replace(path, with: [])
        #expect(directory.contents("state.json") == "")
        #expect(directory.names() == ["state.json"])
    }

    @Test func replace_createsTheFileOwnerOnly() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("sanctions.json")
        try DurableFile.replace(path, with: Array("{}".utf8))
        var info = stat()
        #expect(stat(path, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o600)
    }

    @Test func read_returnsTheBytes_orNilWhenMissing() throws {
        let directory = try TemporaryDirectory()
        #expect(try DurableFile.read(directory.file("missing")) == nil)
        let big = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }  // more than one read() buffer
        let path = try directory.write("big", bytes: big)
        #expect(try DurableFile.read(path) == big)
    }

    @Test func read_ofADirectory_throwsInsteadOfReturningNothing() throws {
        let directory = try TemporaryDirectory()
        #expect(throws: DurableFile.WriteError.self) { try DurableFile.read(directory.path) }
    }

    @Test func replace_inAMissingDirectory_throwsAndNamesThePath() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("no-such-dir/state.json")
        do {
            try DurableFile.replace(path, with: Array("x".utf8))
            Issue.record("replace into a missing directory succeeded")
        } catch {
            #expect(error.description.contains("no-such-dir/state.json.tmp"))
            #expect(error.description.contains("No such file or directory"))
        }
    }

    /// A crash (or `kill -9`) after the temporary file was written but before the rename:
    /// the temporary holds whatever was written (here: garbage), the real file is untouched.
    @Test func crashBetweenWriteAndRename_leavesTheOldFileIntact() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("state.json")
        try DurableFile.replace(path, with: Array("old and good\n".utf8))
        try directory.write("state.json.tmp", bytes: Array(repeating: 0xFF, count: 10_000))

        #expect(try DurableFile.read(path) == Array("old and good\n".utf8))

        // The next replace truncates the leftover temporary: nothing of its tail survives.
        try DurableFile.replace(path, with: Array("new".utf8))
        #expect(directory.contents("state.json") == "new")
        #expect(directory.names() == ["state.json"])
    }

    @Test func crashBetweenWriteAndRename_stateStoreLoadsTheOldState() throws {
        let directory = try TemporaryDirectory()
        let store = StateStore(directory: directory.path)
        let ban = Sanction(kind: .ban, range: try #require(IPRange(parsing: "127.0.0.9")), setBy: "admin", setAt: 1_700_000_000)
        try store.save(sanctions: [ban])
        try directory.write("sanctions.json.tmp", "{\"version\": 1, \"sanctions\": [ {\"kind\": \"ba")  // torn
        try directory.write("history.json.tmp", bytes: [0, 1, 2, 3])

        let loaded = store.load()
        #expect(loaded.sanctions == [ban])
        #expect(loaded.setAside.isEmpty)
        #expect(!directory.names().contains { $0.contains(".corrupt-") })
    }

    /// While one thread replaces a file over and over, another reads it: every read sees
    /// one whole version, never an empty, short or mixed file.
    @Test func concurrentReader_neverSeesAPartialFile() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("state.json")
        let versions: [[UInt8]] = [Array(repeating: UInt8(ascii: "a"), count: 300_000),
                                   Array(repeating: UInt8(ascii: "b"), count: 200_000)]
        try DurableFile.replace(path, with: versions[0])

        final class Shared: Sendable {
            let writerDone = Atomic<Bool>(false)
            let writerError = Mutex<String?>(nil)
        }
        let shared = Shared()
        let writer = Thread {
            for round in 0..<60 {
                do { try DurableFile.replace(path, with: versions[round % 2 == 0 ? 1 : 0]) } catch {
                    shared.writerError.withLock { $0 = "\(error)" }
                    break
                }
            }
            shared.writerDone.store(true, ordering: .releasing)
        }
        writer.start()

        var reads = 0
        var bad: [String] = []
        let deadline = Date().addingTimeInterval(60)
        repeat {
            reads += 1
            guard let bytes = try DurableFile.read(path) else {
                bad.append("read \(reads): the file was missing")
                continue
            }
            if !versions.contains(bytes) {
                bad.append("read \(reads): \(bytes.count) bytes, first \(bytes.first.map(String.init) ?? "-"), last \(bytes.last.map(String.init) ?? "-")")
            }
        } while !shared.writerDone.load(ordering: .acquiring) && Date() < deadline && bad.count < 5
        let writerFinished = shared.writerDone.load(ordering: .acquiring)
        #expect(writerFinished, "the writer did not finish within a minute")
        #expect(shared.writerError.withLock { $0 } == nil)
        #expect(bad == [])
        #expect(reads > 1)
    }
}
