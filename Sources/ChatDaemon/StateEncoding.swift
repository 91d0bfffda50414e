/// A small binary encoding for the state handed to a successor: little-endian integers,
/// length-prefixed bytes and strings, a byte for optionals. Written by hand rather than
/// through `Codable` and JSON because the restart's pause is spent here: at 10,000
/// members JSON took most of 400 ms, this takes a few. The fields are listed once each
/// way, in `RoomSnapshot+Binary.swift` and `HandoverState.swift`; a format change bumps
/// the version those files check.
struct StateWriter {
    private(set) var bytes: [UInt8] = []

    init(reservingCapacity capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    mutating func u8(_ value: UInt8) { bytes.append(value) }
    mutating func bool(_ value: Bool) { bytes.append(value ? 1 : 0) }

    mutating func u32(_ value: UInt32) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func u64(_ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func i64(_ value: Int64) { u64(UInt64(bitPattern: value)) }
    mutating func i32(_ value: Int32) { u32(UInt32(bitPattern: value)) }
    mutating func int(_ value: Int) { i64(Int64(value)) }
    mutating func double(_ value: Double) { u64(value.bitPattern) }

    mutating func data<Bytes: Collection<UInt8>>(_ value: Bytes) {
        u32(UInt32(value.count))
        bytes.append(contentsOf: value)
    }

    /// Bytes as they are, no length.
    mutating func raw(_ value: [UInt8]) { bytes.append(contentsOf: value) }

    mutating func string(_ value: String) {
        var value = value
        value.withUTF8 { data($0) }
    }

    /// A presence byte, then the value if there is one.
    mutating func optional<Value>(_ value: Value?, _ write: (inout StateWriter, Value) -> Void) {
        bool(value != nil)
        if let value { write(&self, value) }
    }

    mutating func array<Element>(_ values: [Element], _ write: (inout StateWriter, Element) -> Void) {
        u32(UInt32(values.count))
        for value in values { write(&self, value) }
    }
}

/// Reads what `StateWriter` wrote; any truncation or nonsense is a `Malformed` error,
/// never a crash.
struct StateReader {
    struct Malformed: Error, CustomStringConvertible {
        let description: String
    }

    private let bytes: [UInt8]
    private(set) var offset: Int

    init(_ bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    var isAtEnd: Bool { offset == bytes.count }

    private mutating func take(_ count: Int) throws(Malformed) -> ArraySlice<UInt8> {
        guard count >= 0, bytes.count - offset >= count else {
            throw Malformed(description: "the state ends early (wanted \(count) byte(s) at offset \(offset) of \(bytes.count))")
        }
        defer { offset += count }
        return bytes[offset..<offset + count]
    }

    mutating func u8() throws(Malformed) -> UInt8 { try take(1).first! }

    mutating func bool() throws(Malformed) -> Bool {
        switch try u8() {
        case 0: return false
        case 1: return true
        case let other: throw Malformed(description: "a flag of \(other) at offset \(offset - 1)")
        }
    }

    mutating func u32() throws(Malformed) -> UInt32 {
        var value: UInt32 = 0
        for (shift, byte) in try take(4).enumerated() { value |= UInt32(byte) << (8 * shift) }
        return value
    }

    mutating func u64() throws(Malformed) -> UInt64 {
        var value: UInt64 = 0
        for (shift, byte) in try take(8).enumerated() { value |= UInt64(byte) << (8 * shift) }
        return value
    }

    mutating func i64() throws(Malformed) -> Int64 { Int64(bitPattern: try u64()) }
    mutating func i32() throws(Malformed) -> Int32 { Int32(bitPattern: try u32()) }

    mutating func int() throws(Malformed) -> Int {
        let value = try i64()
        guard let result = Int(exactly: value) else { throw Malformed(description: "an integer out of range") }
        return result
    }

    mutating func double() throws(Malformed) -> Double { Double(bitPattern: try u64()) }

    mutating func data() throws(Malformed) -> [UInt8] { Array(try take(Int(try u32()))) }

    mutating func string() throws(Malformed) -> String {
        let slice = try take(Int(try u32()))
        guard let text = String(validating: slice, as: UTF8.self) else {
            throw Malformed(description: "text that is not UTF-8 at offset \(offset - slice.count)")
        }
        return text
    }

    mutating func optional<Value>(_ read: (inout StateReader) throws(Malformed) -> Value) throws(Malformed) -> Value? {
        try bool() ? try read(&self) : nil
    }

    mutating func array<Element>(_ read: (inout StateReader) throws(Malformed) -> Element) throws(Malformed) -> [Element] {
        let count = Int(try u32())
        // Each element takes at least a byte: a count beyond what is left is nonsense, not
        // a reason to reserve gigabytes.
        guard count <= bytes.count - offset else { throw Malformed(description: "a list of \(count) in \(bytes.count - offset) byte(s)") }
        var values: [Element] = []
        values.reserveCapacity(count)
        for _ in 0..<count { values.append(try read(&self)) }
        return values
    }
}

/// FNV-1a over the bytes: enough to tell a state file cut short by a crash mid-write
/// from a whole one (not a defence against tampering: the file is the daemon's own).
func stateChecksum<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> UInt64 {
    var hash: UInt64 = 0xCBF2_9CE4_8422_2325
    for byte in bytes {
        hash ^= UInt64(byte)
        hash = hash &* 0x0000_0100_0000_01B3
    }
    return hash
}
