import Foundation
import Testing

/// Replays every input under Tests/Fuzz/Regressions/state-file/ (what `make fuzz` found)
/// and the seeds under Tests/Fuzz/Corpus/state-file/ through the fuzz target's own check.
@Suite("Fuzz regressions: state files")
struct StateFileFuzzRegressionTests {
    static let fuzzDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fuzz")

    static func files() -> [URL] {
        var files: [URL] = []
        for kind in ["Regressions", "Corpus"] {
            let directory = fuzzDirectory.appendingPathComponent(kind).appendingPathComponent("state-file")
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { continue }
            files += names.filter { !$0.hasPrefix(".") }.sorted().map { directory.appendingPathComponent($0) }
        }
        return files
    }

    @Test func everyRecordedInputPasses() throws {
        let files = Self.files()
        #expect(files.count >= 6, "seeds missing under Tests/Fuzz/Corpus/state-file")
        for file in files {
            let failure = StateFileFuzzCheck.check(Array(try Data(contentsOf: file)))
            #expect(failure == nil, "\(file.path): \(failure ?? "")")
        }
    }
}
