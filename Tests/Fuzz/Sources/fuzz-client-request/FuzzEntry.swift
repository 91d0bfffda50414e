// libFuzzer's callback. libFuzzer supplies main: SwiftPM's `--sanitize fuzzer` compiles
// this target with -parse-as-library and links libFuzzer in. The check is ClientRequestFuzzCheck,
// shared with the test suite's replay of Tests/Fuzz/Regressions/client-request (FuzzRegressionTests).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let input = count == 0 ? [] : Array(UnsafeBufferPointer(start: start, count: count))
    if let failure = ClientRequestFuzzCheck.check(input) {
        fatalError("client-request check failed: \(failure)")
    }
    return 0
}
