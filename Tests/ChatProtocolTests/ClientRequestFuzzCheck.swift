import ChatProtocol

// The check behind the libFuzzer target `fuzz-client-request` (Tests/Fuzz), kept here so the
// regression replay (FuzzRegressionTests.swift) runs exactly the same logic. This file is
// symlinked into the fuzz package; it must not import Testing or Foundation.

/// The command parser's promises, over any text a member or a greeting can carry (the
/// input bytes, repaired to UTF-8 as the decoder only ever hands out valid UTF-8):
///
/// - `isPlainChat(payload)` (the daemon's fast path, which relays without parsing) true
///   implies `parseMemberFrame` gives `.chat` with exactly those bytes;
/// - every parse result is made of the input's own bytes (nothing lost or invented);
/// - greetings are recognized by their byte prefix, as the original's `startswith` did.
enum ClientRequestFuzzCheck {
    /// - Parameter greetingsByBytes: also require that a greeting is recognized by its byte
    ///   prefix. `String.hasPrefix` compares grapheme clusters, so `NICK:` followed by a
    ///   combining mark is not a join; the original compared code points. Off by default
    ///   while that difference is reported (FuzzRegressionTests.swift), so the fuzzer keeps
    ///   looking for other things.
    static func check(_ data: [UInt8], greetingsByBytes: Bool = false) -> String? {
        let text = String(decoding: data, as: UTF8.self)
        let bytes = Array(text.utf8)
        let plain = bytes.withUnsafeBytes { ClientRequest.isPlainChat($0) }
        let member = ClientRequest.parseMemberFrame(text)
        let shown = text.unicodeScalars.map { $0.escaped(asASCII: true) }.joined()

        if plain {
            guard case let .chat(relayed) = member, Array(relayed.utf8) == bytes else {
                return "isPlainChat is true but parseMemberFrame gives \(member) for \"\(shown)\""
            }
        }
        switch member {
        case let .chat(relayed):
            if Array(relayed.utf8) != bytes { return "chat text changed: \"\(shown)\"" }
        case .disconnect:
            if bytes != Array(ClientRequest.disconnectText.utf8) { return "\"\(shown)\" parsed as !DC" }
            if plain { return "!DC is reported as plain chat" }
        case let .command(name, arguments):
            if bytes.first != UInt8(ascii: "/") { return "a command without a leading slash: \"\(shown)\"" }
            if name.isEmpty || name.contains(where: \.isWhitespace) { return "bad command name \(name.debugDescription) from \"\(shown)\"" }
            if name != name.lowercased() { return "command name not lowercased: \(name.debugDescription)" }
            if arguments.first?.isWhitespace == true { return "arguments keep leading whitespace: \"\(shown)\"" }
            if !endsWith(bytes, Array(arguments.utf8)) { return "arguments are not the end of the text: \"\(shown)\"" }
            let typed = String(text.dropFirst().prefix { !$0.isWhitespace })
            if typed.lowercased() != name { return "command name \(name.debugDescription) is not the typed \(typed.debugDescription)" }
        case .join, .adminJoin, .unrecognizedGreeting:
            return "parseMemberFrame returned a greeting, \(member), for \"\(shown)\""
        }

        let greeting = ClientRequest.parseGreeting(text)
        switch greeting {
        case let .join(nick):
            if Array(ClientRequest.nickPrefix.utf8) + Array(nick.utf8) != bytes { return "NICK: parse lost bytes: \"\(shown)\"" }
        case let .adminJoin(password):
            if Array(ClientRequest.adminPrefix.utf8) + Array(password.utf8) != bytes { return "admin: parse lost bytes: \"\(shown)\"" }
        case let .unrecognizedGreeting(original):
            if Array(original.utf8) != bytes { return "unrecognized greeting text changed: \"\(shown)\"" }
            if greetingsByBytes {
                for prefix in [ClientRequest.nickPrefix, ClientRequest.adminPrefix] where bytes.starts(with: Array(prefix.utf8)) {
                    return "\"\(shown)\" starts with the bytes of \(prefix) but is not recognized as a greeting"
                }
            }
        case .disconnect, .command, .chat:
            return "parseGreeting returned a member request, \(greeting), for \"\(shown)\""
        }
        return nil
    }

    static func endsWith(_ bytes: [UInt8], _ suffix: [UInt8]) -> Bool {
        bytes.count >= suffix.count && Array(bytes[(bytes.count - suffix.count)...]) == suffix
    }
}
