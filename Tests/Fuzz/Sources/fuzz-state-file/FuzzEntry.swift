// libFuzzer's callback. libFuzzer supplies main: SwiftPM's `--sanitize fuzzer` compiles
// this target with -parse-as-library and links libFuzzer in. The check is StateFileFuzzCheck,
// shared with the test suite's replay of Tests/Fuzz/Regressions/state-file
// (StateFileFuzzRegressionTests); the loader is Sources/ChatDaemon/StateFiles.swift itself.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let input = count == 0 ? [] : Array(UnsafeBufferPointer(start: start, count: count))
    if let failure = StateFileFuzzCheck.check(input) {
        fatalError("state-file check failed: \(failure)")
    }
    return 0
}
