import Bytes
import ChatProtocol

// The check behind the libFuzzer target `fuzz-frame-decoder` (Tests/Fuzz), kept here so the
// regression replay (FuzzRegressionTests.swift) runs exactly the same logic. This file is
// symlinked into the fuzz package; it must not import Testing or Foundation.

/// Feeds a byte stream to `FrameDecoder` cut into pieces at fuzzer-chosen points and
/// compares everything it does with a small reference reading of the protocol spec.
///
/// Input layout: byte 0 picks the mode (bit 0: raw bytes or a well-formed stream built
/// from the rest; bit 1: truncate the well-formed stream; bits 4-7: the payload limit),
/// bytes 1-2 seed the splitter, byte 3 picks an early stop, the rest is the body.
enum FrameDecoderFuzzCheck {
    static let limits = [0, 1, 5, 64, 300, FrameFormat.defaultMaximumPayloadLength]

    /// nil when every property held, else what broke.
    static func check(_ data: [UInt8]) -> String? {
        // UTF-8 validation agrees with the standard library's validating decoder, on anything.
        if let problem = checkUTF8(data) { return problem }
        guard data.count >= 4 else { return nil }
        let mode = data[0]
        let limit = limits[Int(mode >> 4) % limits.count]
        var rng = SplitMix64(seed: UInt64(data[1]) << 8 | UInt64(data[2]))
        let stopAfter: Int? = data[3] & 0x80 == 0 ? nil : 1 + Int(data[3] & 0x7F)
        let body = Array(data[4...])

        let wellFormed = mode & 1 == 1
        var stream = wellFormed ? Self.wellFormedStream(from: body, limit: limit) : body
        if wellFormed && mode & 2 != 0 && !stream.isEmpty {
            stream.removeLast(Int(rng.next() % UInt64(stream.count)))
        }
        let expected = reference(stream, limit: limit)

        // The same stream, cut three ways: in one piece, at random points, byte by byte.
        var cuts: [(String, [[UInt8]])] = [("one read", [stream]), ("random reads", randomPieces(stream, &rng))]
        if stream.count <= 2048 { cuts.append(("byte by byte", stream.map { [$0] })) }
        for (name, pieces) in cuts {
            let actual = decode(pieces, limit: limit, stopAfter: nil)
            if actual != expected {
                return "\(name) (limit \(limit)): decoder gave \(actual), the spec says \(expected); stream \(stream.count) bytes: \(hexPrefix(stream))"
            }
        }
        if let stopAfter {
            let pieces = randomPieces(stream, &rng)
            let actual = decode(pieces, limit: limit, stopAfter: stopAfter)
            var wanted = expected
            if expected.frames.count >= stopAfter {
                wanted = Outcome(frames: Array(expected.frames.prefix(stopAfter)), failure: nil, buffered: nil)
            }
            if actual.frames != wanted.frames || actual.failure != wanted.failure {
                return "stop after \(stopAfter) frames: decoder gave \(actual), expected \(wanted)"
            }
        }
        if wellFormed {
            // What came out re-encodes to exactly the input, minus the incomplete tail.
            if expected.failure != nil { return "a well-formed stream failed: \(expected)" }
            var reencoded: [UInt8] = []
            for frame in expected.frames { reencoded += FrameEncoder.frame(bytes: frame).array }
            if Array(stream.prefix(reencoded.count)) != reencoded {
                return "re-encoded frames are not a prefix of the input: \(hexPrefix(reencoded)) vs \(hexPrefix(stream))"
            }
            // The tail is an incomplete header, or a whole header and part of its payload.
            let tail = stream.count - reencoded.count
            let held = tail < FrameFormat.headerLength ? tail : tail - FrameFormat.headerLength
            if expected.buffered != held {
                return "buffered \(expected.buffered ?? -1) bytes, but the unconsumed tail of \(tail) bytes means \(held)"
            }
        }
        return nil
    }

    // MARK: What the decoder did

    struct Outcome: Equatable, CustomStringConvertible {
        var frames: [[UInt8]]
        var failure: FrameDecoder.Failure?
        /// Bytes held back at the end; nil after a failure or an early stop (unspecified).
        var buffered: Int?

        var description: String {
            "\(frames.count) frames \(frames.prefix(8).map(\.count))\(frames.count > 8 ? "..." : ""), failure \(failure.map { "\($0)" } ?? "none"), buffered \(buffered.map(String.init) ?? "-")"
        }
    }

    static func decode(_ pieces: [[UInt8]], limit: Int, stopAfter: Int?) -> Outcome {
        var decoder = FrameDecoder(maximumPayloadLength: limit)
        var outcome = Outcome(frames: [], failure: nil, buffered: nil)
        var stopped = false
        do {
            for piece in pieces where !stopped {
                try piece.withUnsafeBytes { bytes in
                    try decoder.feed(bytes) { payload in
                        outcome.frames.append(Array(payload))
                        if let stopAfter, outcome.frames.count >= stopAfter { stopped = true; return false }
                        return true
                    }
                }
            }
            if !stopped { outcome.buffered = decoder.bufferedByteCount }
        } catch let failure as FrameDecoder.Failure {
            outcome.failure = failure
        } catch {
            outcome.failure = .malformedHeader  // cannot happen: onFrame does not throw
        }
        return outcome
    }

    // MARK: The spec, read plainly

    /// docs/protocol.md: 64 header bytes (optional leading spaces, digits, then only
    /// spaces); too many digits for an Int is an overflow; a length above the limit is
    /// refused as soon as the header is complete; the payload must be valid UTF-8.
    static func reference(_ stream: [UInt8], limit: Int) -> Outcome {
        var outcome = Outcome(frames: [], failure: nil, buffered: nil)
        var index = 0
        while true {
            let remaining = stream.count - index
            if remaining < FrameFormat.headerLength {
                outcome.buffered = remaining
                return outcome
            }
            let header = stream[index..<index + FrameFormat.headerLength]
            let afterSpaces = header.drop { $0 == 0x20 }
            let digits = afterSpaces.prefix { $0 >= 0x30 && $0 <= 0x39 }
            if digits.isEmpty { outcome.failure = .malformedHeader; return outcome }
            guard let length = Int(String(decoding: digits, as: UTF8.self)) else {
                outcome.failure = .lengthOverflow; return outcome
            }
            if !afterSpaces.dropFirst(digits.count).allSatisfy({ $0 == 0x20 }) {
                outcome.failure = .malformedHeader; return outcome
            }
            if length > limit { outcome.failure = .payloadTooLarge(claimed: length, limit: limit); return outcome }
            index += FrameFormat.headerLength
            if stream.count - index < length {
                outcome.buffered = stream.count - index
                return outcome
            }
            let payload = Array(stream[index..<index + length])
            index += length
            if String(validating: payload, as: UTF8.self) == nil { outcome.failure = .invalidUTF8; return outcome }
            outcome.frames.append(payload)
        }
    }

    static func checkUTF8(_ bytes: [UInt8]) -> String? {
        let stdlib = String(validating: bytes, as: UTF8.self) != nil
        let ours = UTF8Validation.isValid(bytes)
        if stdlib != ours { return "UTF8Validation says \(ours), the standard library \(stdlib), for \(hexPrefix(bytes))" }
        return nil
    }

    // MARK: Inputs

    /// Canonical frames (as FrameEncoder writes them) whose payloads are valid UTF-8 made
    /// from the body: each payload takes a length byte, then up to that many bytes,
    /// repaired to UTF-8 and trimmed to the limit at a scalar boundary.
    static func wellFormedStream(from body: [UInt8], limit: Int) -> [UInt8] {
        var stream: [UInt8] = []
        var index = 0
        var frames = 0
        while index < body.count && frames < 64 {
            let wanted = Int(body[index])
            index += 1
            let raw = body[index..<min(body.count, index + wanted)]
            index += raw.count
            var payload: [UInt8] = []
            for scalar in String(decoding: raw, as: UTF8.self).unicodeScalars {
                let utf8 = Array(String(scalar).utf8)
                if payload.count + utf8.count > min(wanted, limit) { break }
                payload += utf8
            }
            stream += FrameEncoder.frame(bytes: payload).array
            frames += 1
        }
        return stream
    }

    static func randomPieces(_ stream: [UInt8], _ rng: inout SplitMix64) -> [[UInt8]] {
        var pieces: [[UInt8]] = []
        var index = 0
        while index < stream.count {
            let size: Int
            switch rng.next() % 4 {
            case 0: size = 1 + Int(rng.next() % 3)
            case 1: size = 60 + Int(rng.next() % 8)  // around a header's edge
            case 2: size = 1 + Int(rng.next() % 200)
            default: size = 1 + Int(rng.next() % 5000)
            }
            let end = min(stream.count, index + size)
            pieces.append(Array(stream[index..<end]))
            index = end
            if rng.next() % 16 == 0 { pieces.append([]) }  // an empty read now and then
        }
        return pieces
    }

    static func hexPrefix(_ bytes: [UInt8], count: Int = 96) -> String {
        let digits = Array("0123456789abcdef")
        var text = ""
        for byte in bytes.prefix(count) { text.append(digits[Int(byte >> 4)]); text.append(digits[Int(byte & 15)]) }
        return text + (bytes.count > count ? "... (\(bytes.count) bytes)" : "")
    }
}

/// A tiny deterministic generator (SplitMix64), so a fuzz input always means the same run.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
