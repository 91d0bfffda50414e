// libFuzzer's callback. libFuzzer supplies main: SwiftPM's `--sanitize fuzzer` compiles
// this target with -parse-as-library and links libFuzzer in. The check is FrameDecoderFuzzCheck,
// shared with the test suite's replay of Tests/Fuzz/Regressions/frame-decoder (FuzzRegressionTests).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let input = count == 0 ? [] : Array(UnsafeBufferPointer(start: start, count: count))
    if let failure = FrameDecoderFuzzCheck.check(input) {
        fatalError("frame-decoder check failed: \(failure)")
    }
    return 0
}
