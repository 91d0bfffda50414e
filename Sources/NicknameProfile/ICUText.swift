internal import CICU

/// Calls an ICU function that writes UTF-16 into a caller's buffer, growing the buffer
/// once if ICU says it was too small.
enum ICUText {
    typealias Writer = (UnsafePointer<UChar>, Int32, UnsafeMutablePointer<UChar>, Int32, inout UErrorCode) -> Int32

    static func transform(_ source: [UChar], with write: Writer) -> [UChar]? {
        if source.isEmpty { return [] }
        // Skeletons and foldings rarely grow much; a nickname is at most 32 bytes.
        var capacity = max(64, source.count * 4)
        for _ in 0..<2 {
            var status = U_ZERO_ERROR
            var output = [UChar](repeating: 0, count: capacity)
            let length = source.withUnsafeBufferPointer { input in
                output.withUnsafeMutableBufferPointer { buffer in
                    write(input.baseAddress!, Int32(input.count),
                          buffer.baseAddress!, Int32(buffer.count), &status)
                }
            }
            if status == U_BUFFER_OVERFLOW_ERROR { capacity = Int(length); continue }
            guard status.isSuccess, length >= 0, Int(length) <= output.count else { return nil }
            output.removeSubrange(Int(length)...)
            return output
        }
        return nil
    }
}

extension UErrorCode {
    /// U_SUCCESS, which is a C macro Swift does not import: warnings are below zero.
    var isSuccess: Bool { rawValue <= U_ZERO_ERROR.rawValue }
    var name: String { String(cString: cicu_error_name(self)) }
}
