import ChatProtocol
import FoundationEssentials

/// The daemon's answer and what it means: `error: ...` (or JSON with `"ok": false`) is a
/// failure, `error: permission denied` a refusal by the daemon's access check.
struct ControlReply {
    enum Outcome { case success, failure, permissionDenied }

    let text: String
    let json: Bool

    var outcome: Outcome {
        if text.hasPrefix(ControlSyntax.permissionDeniedPrefix) { return .permissionDenied }
        if text.hasPrefix(ControlSyntax.errorPrefix) { return .failure }
        if json, let status = try? JSONDecoder().decode(Status.self, from: Data(text.utf8)), status.ok == false {
            return .failure
        }
        return .success
    }

    private struct Status: Decodable { let ok: Bool? }
}
