internal import CICU

/// Calls an ICU function that writes UTF-16 into a caller's buffer, growing the buffer
/// once if ICU says it was too small.
enum ICUText {
    typealias Writer = (UnsafePointer<UInt16>, Int32, UnsafeMutablePointer<UInt16>, Int32, inout Int32) -> Int32

    static func transform(_ source: [UInt16], with write: Writer) -> [UInt16]? {
        if source.isEmpty { return [] }
        // Skeletons and foldings rarely grow much; a nickname is at most 32 bytes.
        var capacity = max(64, source.count * 4)
        for _ in 0..<2 {
            var status: Int32 = 0
            var output = [UInt16](repeating: 0, count: capacity)
            let length = source.withUnsafeBufferPointer { input in
                output.withUnsafeMutableBufferPointer { buffer in
                    write(input.baseAddress!, Int32(input.count), buffer.baseAddress!, Int32(buffer.count), &status)
                }
            }
            if status == CICU_BUFFER_OVERFLOW { capacity = Int(length); continue }
            // ICU's warnings are below zero, errors above.
            guard status <= 0, length >= 0, Int(length) <= output.count else { return nil }
            output.removeSubrange(Int(length)...)
            return output
        }
        return nil
    }
}
