import ChatCore
import Logging

/// The daemon's own health: the once-a-second tick and status line, long turns of the
/// loop, and warnings about the admin accounts at start.
extension ChatServer {
    func everySecond() {
        guard !shuttingDown else { return }
        room.tick(now: now(), effects: &effects)
        applyEffects()
        logSuppressedRefusals()
        supervisor.updateStatus(room: room, unsavedState: unsavedState != nil, longestTurn: reactor.longestTurnNanoseconds)
    }

    /// A turn took long (a stall of the machine or of the loop): frames that queued up
    /// meanwhile arrive together, and flood control must not count that against anyone.
    func loopStalled(_ nanoseconds: UInt64) {
        room.loopStalled(nanoseconds: nanoseconds)
        log(.warning, "loop-stalled", "one turn of the event loop took \(nanoseconds / 1_000_000) ms",
            ["chat_duration_ms": "\(nanoseconds / 1_000_000)"])
    }

    func warnAboutAccounts() {
        if room.configuration.accounts.isEmpty {
            logger.warning("Admin login is disabled: no admin account is configured. Make a hash with 'chatroomd hash-password' and set it with --admin-password-hash, an 'admin = NAME HASH' line in the configuration file, or the systemd credential admin-password-hash.")
        }
        for (name, verifier) in room.configuration.accounts where verifier.isLegacy {
            logger.warning("admin account '\(name)' uses an unsalted SHA-256 hash; replace it with a slow salted one from 'chatroomd hash-password'",
                           metadata: ["chat_event": "legacy-password-hash", "chat_account": .string(name)])
        }
    }
}
