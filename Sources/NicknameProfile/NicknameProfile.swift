internal import CICU
import ChatCore
import Foundation

/// The daemon's nickname rules: nicknames people can tell apart, in the spirit of RFC 8266
/// (PRECIS nicknames) and UTS #39 (Unicode security mechanisms), with ICU's data.
///
/// A nickname is refused when it has a character that does not show (default-ignorable:
/// joiners, variation selectors, Hangul fillers), combining marks that would not be seen,
/// or a character outside: letters, marks and digits that may appear in identifiers
/// (XID_Continue, not deprecated, unchanged by NFKC), punctuation, math, currency and
/// modifier symbols, and of the other symbols only emoji. The pure `Nickname` rules
/// (length, spaces and controls, a letter or digit, not an address) apply too.
///
/// A nickname is kept and shown as given, but compared by its key: NFKC with case folding
/// (RFC 8266's comparison), then UTS #39's confusable skeleton, then NFKC case folding again
/// (skeletons may be upper case: `0` becomes `O`). So `Alice` and `alice`, `admin` and
/// `аdmin` (Cyrillic а) and `paypal` and `раypal` are the same nickname, and the
/// reserved admin nick cannot be imitated by a confusable.
public final class NicknameProfile: NicknameRules, @unchecked Sendable {
    // @unchecked: the checker and the normalizers are set up once and only read afterwards;
    // ICU documents read-only use of them as safe from any thread.
    private let icu: OpaquePointer
    private var adminKey = ""
    /// Keys already computed. The Room asks for the same few keys again and again (a
    /// muted nick is compared with every line's speaker), and ICU takes microseconds
    /// where a lookup takes tens of nanoseconds. Emptied (storage and all) when full, so
    /// memory stays bounded however many nicknames are tried: small, since a join storm
    /// fills it with keys asked for once (measured: 4,096 kept entries cost an idle room of
    /// 10,000 about 10 B a member).
    /// NSLock rather than `Synchronization.Mutex`: on Linux the Mutex is a bare futex that
    /// ThreadSanitizer cannot see, and `make test-sanitize` must stay quiet.
    private let keyLock = NSLock()
    private var keyCache: [String: String] = [:]
    public static let keyCacheLimit = 512

    public struct Unavailable: Error, CustomStringConvertible {
        public let description: String
    }

    /// The daemon's one instance. ICU's data is linked into libicudata, so opening it
    /// fails only if the system's ICU is broken; the daemon cannot check nicknames then.
    public static let standard: NicknameProfile = {
        do { return try NicknameProfile() } catch { fatalError("nickname rules: \(error)") }
    }()

    public init() throws(Unavailable) {
        var status: Int32 = 0
        guard let icu = cicu_rules_open(&status) else {
            throw Unavailable(description: "ICU's spoof checker or normalizers could not be opened (\(String(cString: cicu_error_name(status))))")
        }
        self.icu = icu
        adminKey = key(Nickname.adminNick)
    }

    deinit { cicu_rules_close(icu) }

    public func problem(with nick: String) -> Nickname.Problem? {
        if nick.isEmpty { return .empty }
        if nick.utf8.count > Nickname.maximumByteCount { return .tooLong }
        // Before the pure rules, so that a zero-width space is named as invisible.
        for scalar in nick.unicodeScalars where cicu_is_default_ignorable(Int32(scalar.value)) {
            return .invisibleCharacter(scalar)
        }
        if let problem = Nickname.problem(with: nick) { return problem }
        // Composed, so that `e` + U+0301 is judged as `é`.
        guard let composed = ICUText.transform(Array(nick.utf16), with: { source, length, destination, capacity, status in
            cicu_nfc(icu, source, length, destination, capacity, &status)
        }) else { return .hiddenMarks }
        for scalar in String(decoding: composed, as: UTF16.self).unicodeScalars where !Self.isAllowed(scalar) {
            return .disallowedCharacter(scalar)
        }
        var status: Int32 = 0
        let failedChecks = composed.withUnsafeBufferPointer { buffer in
            cicu_hidden_marks(icu, buffer.baseAddress, Int32(buffer.count), &status)
        }
        return status <= 0 && failedChecks == 0 ? nil : .hiddenMarks
    }

    public func key(_ nick: String) -> String {
        if let cached = keyLock.withLock({ keyCache[nick] }) { return cached }
        let key = computeKey(nick)
        keyLock.withLock {
            if keyCache.count >= Self.keyCacheLimit { keyCache.removeAll(keepingCapacity: false) }
            keyCache[nick] = key
        }
        return key
    }

    private func computeKey(_ nick: String) -> String {
        let folded = ICUText.transform(Array(nick.utf16)) { source, length, destination, capacity, status in
            cicu_nfkc_casefold(icu, source, length, destination, capacity, &status)
        }
        let skeleton = folded.flatMap { folded in
            ICUText.transform(folded) { source, length, destination, capacity, status in
                cicu_skeleton(icu, source, length, destination, capacity, &status)
            }
        }
        let key = skeleton.flatMap { skeleton in
            ICUText.transform(skeleton) { source, length, destination, capacity, status in
                cicu_nfkc_casefold(icu, source, length, destination, capacity, &status)
            }
        }
        // ICU fails only on malformed UTF-16, which a Swift String cannot hold; should it
        // fail anyway, case-insensitive comparison still holds.
        guard let key else { return Nickname.key(nick) }
        return String(decoding: key, as: UTF16.self)
    }

    /// Keys drop invisible characters, so `adm\u{34F}in` has the admin nick's key; but a
    /// nickname that may not be used at all is better refused for its own reason (the
    /// Room asks this before `problem(with:)`), so only usable nicknames pass for admin.
    public func isAdminNick(_ nick: String) -> Bool { key(nick) == adminKey && problem(with: nick) == nil }

    /// Identifier letters, marks and digits; punctuation; symbols, except "other" symbols
    /// that are not emoji. Styled forms that NFKC would change (`ａ`, `𝐚`) are refused
    /// rather than silently compared.
    static func isAllowed(_ scalar: Unicode.Scalar) -> Bool {
        let c = Int32(scalar.value)
        guard cicu_is_nfkc_stable(c), !cicu_is_deprecated(c) else { return false }
        switch cicu_general_category(c) {
        case cicu_letter_mark_or_number: return cicu_is_xid_continue(c)
        case cicu_punctuation, cicu_math_currency_or_modifier_symbol: return true
        // Where blank-looking glyphs live (U+2800 BRAILLE PATTERN BLANK), among dingbats
        // and box drawing: only emoji are let through.
        case cicu_other_symbol: return cicu_is_emoji(c)
        // Unassigned, private use, and what the pure rules already refuse.
        default: return false
        }
    }
}
