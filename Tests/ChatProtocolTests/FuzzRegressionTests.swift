import Foundation
import Testing

/// Replays every input under Tests/Fuzz/Regressions/<target>/ (crashes and check failures
/// `make fuzz` found; libFuzzer writes them there) and the seed corpora under
/// Tests/Fuzz/Corpus/<target>/ through the fuzz targets' own checks
/// (FrameDecoderFuzzCheck, ClientRequestFuzzCheck). An input that shows a bug not yet
/// fixed is listed in `knownBugs` and replayed by a disabled test of its own instead.
@Suite("Fuzz regressions: frame decoder and command parser")
struct ProtocolFuzzRegressionTests {
    /// File name → the bug it shows. Empty: every recorded input passes.
    static let knownBugs: [String: String] = [:]

    @Test func frameDecoder_everyRecordedInputPasses() throws {
        let files = try FuzzInputs.files(target: "frame-decoder")
        #expect(!files.isEmpty, "no seeds found under Tests/Fuzz/Corpus/frame-decoder")
        for file in files where Self.knownBugs[file.lastPathComponent] == nil {
            let failure = FrameDecoderFuzzCheck.check(try FuzzInputs.bytes(file))
            #expect(failure == nil, "\(file.path): \(failure ?? "")")
        }
    }

    @Test func clientRequest_everyRecordedInputPasses() throws {
        let files = try FuzzInputs.files(target: "client-request")
        #expect(!files.isEmpty, "no seeds found under Tests/Fuzz/Corpus/client-request")
        for file in files where Self.knownBugs[file.lastPathComponent] == nil {
            let failure = ClientRequestFuzzCheck.check(try FuzzInputs.bytes(file))
            #expect(failure == nil, "\(file.path): \(failure ?? "")")
        }
    }

    /// `String.hasPrefix` compares grapheme clusters: `NICK:` followed by a combining mark
    /// (U+0301) is one cluster `:́`, so the greeting is refused with "Expected NICK:..."
    /// although its bytes start with `NICK:`. The original server compared code points.
    @Test
    func greeting_isRecognizedByItsBytes() {
        for text in ["NICK:\u{301}x", "admin:\u{301}pw"] {
            #expect(ClientRequestFuzzCheck.check(Array(text.utf8), greetingsByBytes: true) == nil)
        }
    }
}

/// The recorded inputs of one fuzz target: regressions first, then seeds, each sorted.
enum FuzzInputs {
    static let fuzzDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fuzz")

    static func files(target: String) throws -> [URL] {
        var files: [URL] = []
        for kind in ["Regressions", "Corpus"] {
            let directory = fuzzDirectory.appendingPathComponent(kind).appendingPathComponent(target)
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { continue }
            files += names.filter { !$0.hasPrefix(".") }.sorted().map { directory.appendingPathComponent($0) }
        }
        return files
    }

    static func bytes(_ file: URL) throws -> [UInt8] { Array(try Data(contentsOf: file)) }
}
