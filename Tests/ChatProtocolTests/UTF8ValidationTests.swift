import ChatProtocol
import Testing

@Suite("UTF8Validation")
struct UTF8ValidationTests {
    /// The standard library's own strict decoder, as the oracle.
    static func standardLibraryAccepts(_ bytes: [UInt8]) -> Bool {
        String(validating: bytes, as: UTF8.self) != nil
    }

    @Test func validation_acceptsEmptyAndASCII() {
        #expect(UTF8Validation.isValid([]))
        #expect(UTF8Validation.isValid(Array("plain ASCII text ~!@#".utf8)))
        #expect(UTF8Validation.isValid(Array(0...0x7F)))
    }

    @Test func validation_acceptsEveryScalarsEncoding() {
        var failures: [UInt32] = []
        for value in UInt32(0)...0x10FFFF {
            guard let scalar = Unicode.Scalar(value) else { continue }
            let bytes = Array(String(Character(scalar)).utf8)
            if !UTF8Validation.isValid(bytes) { failures.append(value) }
            if failures.count > 10 { break }
        }
        #expect(failures == [])
    }

    @Test func validation_agreesWithStandardLibrary_onEveryOneAndTwoByteSequence() {
        var disagreements: [[UInt8]] = []
        for a in 0...255 {
            let one = [UInt8(a)]
            if UTF8Validation.isValid(one) != Self.standardLibraryAccepts(one) { disagreements.append(one) }
            for b in 0...255 {
                let two = [UInt8(a), UInt8(b)]
                if UTF8Validation.isValid(two) != Self.standardLibraryAccepts(two) { disagreements.append(two) }
            }
        }
        #expect(disagreements == [])
    }

    @Test func validation_agreesWithStandardLibrary_onThreeAndFourByteSequencesWithMultiByteLeads() {
        // Every three- and four-byte lead (and the invalid leads above them), every second
        // byte, and the boundary values for the third and fourth bytes.
        let tails: [UInt8] = [0x41, 0x7F, 0x80, 0xBF, 0xC0, 0xC3]
        var disagreements: [[UInt8]] = []
        for a in 0xE0...0xFF {
            for b in 0...255 {
                for c in tails {
                    let three = [UInt8(a), UInt8(b), c]
                    if UTF8Validation.isValid(three) != Self.standardLibraryAccepts(three) { disagreements.append(three) }
                    for d in tails {
                        let four = three + [d]
                        if UTF8Validation.isValid(four) != Self.standardLibraryAccepts(four) { disagreements.append(four) }
                    }
                }
            }
        }
        #expect(disagreements.prefix(10) == [])
    }

    @Test(arguments: [
        [0x80] as [UInt8], [0xBF], [0xC0, 0x80], [0xC1, 0xBF], [0xE0, 0x9F, 0xBF], [0xF0, 0x8F, 0xBF, 0xBF],
        [0xED, 0xA0, 0x80], [0xED, 0xAF, 0xBF, 0xED, 0xB0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xF8, 0x88, 0x80, 0x80, 0x80],
        [0xFE], [0xFF], [0xC3], [0xE2, 0x82], [0xF0, 0x9F, 0x98], [0x61, 0xE2, 0x28, 0xA1],
    ])
    func validation_rejectsForbiddenSequences(bytes: [UInt8]) {
        #expect(!UTF8Validation.isValid(bytes))
        #expect(!Self.standardLibraryAccepts(bytes))
    }
}
