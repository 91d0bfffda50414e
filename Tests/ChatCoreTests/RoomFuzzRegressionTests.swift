import Foundation
import Testing

/// Replays every input under Tests/Fuzz/Regressions/room/ (crashes and check failures
/// `make fuzz` found; libFuzzer writes them there) and the seed corpus under
/// Tests/Fuzz/Corpus/room/ through the fuzz target's own check (RoomFuzzCheck). An input
/// that shows a bug not yet fixed is listed in `knownBugs` and replayed by a disabled
/// test of its own instead.
@Suite("Fuzz regressions: the Room")
struct RoomFuzzRegressionTests {
    /// File name → the bug it shows. Empty: every recorded input passes.
    static let knownBugs: [String: String] = [:]

    @Test func room_everyRecordedInputPasses() throws {
        let files = try RoomFuzzInputs.files()
        #expect(!files.isEmpty, "no seeds found under Tests/Fuzz/Corpus/room")
        for file in files where Self.knownBugs[file.lastPathComponent] == nil {
            let failure = RoomFuzzCheck.check(Array(try Data(contentsOf: file)))
            #expect(failure == nil, "\(file.path): \(failure ?? "")")
        }
    }
}

enum RoomFuzzInputs {
    static let fuzzDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fuzz")

    /// Regressions first, then seeds, each sorted.
    static func files() throws -> [URL] {
        var files: [URL] = []
        for kind in ["Regressions", "Corpus"] {
            let directory = fuzzDirectory.appendingPathComponent(kind).appendingPathComponent("room")
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { continue }
            files += names.filter { !$0.hasPrefix(".") }.sorted().map { directory.appendingPathComponent($0) }
        }
        return files
    }
}
