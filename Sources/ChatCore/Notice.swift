import ChatProtocol

/// Every text the Room sends. The first group is the original server's, byte for byte,
/// because clients written for it match on them; the moderation texts extend them only
/// when a duration or reason is given.
public enum Notice {
    public static let connected = ServerReply.connected
    public static func joined(_ nick: String) -> String { ServerReply.joined(nick) }
    public static let adminJoined = "An admin has joined the chat!"
    public static let incorrectPassword = "Incorrect password."
    public static func left(_ nick: String) -> String { ServerReply.left(nick) }
    public static func youWereKicked(reason: String?) -> String {
        detailed("You have been kicked by an admin", seconds: nil, reason: reason)
    }
    public static func kicked(_ nick: String, reason: String?) -> String {
        detailed("\(nick) has been kicked from the server", seconds: nil, reason: reason)
    }
    public static func youWereBanned(seconds: Int64?, reason: String?) -> String {
        detailed("You have been banned by an admin", seconds: seconds, reason: reason)
    }
    public static func banned(_ nick: String, seconds: Int64?, reason: String?) -> String {
        detailed("\(nick) has been banned from the server", seconds: seconds, reason: reason)
    }
    public static let youWereKicked = youWereKicked(reason: nil)
    public static func kicked(_ nick: String) -> String { kicked(nick, reason: nil) }
    public static let youWereBanned = youWereBanned(seconds: nil, reason: nil)
    public static func banned(_ nick: String) -> String { banned(nick, seconds: nil, reason: nil) }

    public static let shuttingDown = ServerReply.shuttingDown
    public static let clusterSplit = "The link between chat servers is down: your lines now reach only the members on this server."
    public static let nickChangePending = "Your previous nickname change is still being checked with the other chat servers; try again in a moment."
    public static func nickTakenDuringSplit(_ nick: String) -> String {
        "While the chat servers were apart, a member on another server took the nickname \(nick) first; reconnect with another nickname."
    }
    public static func renamedAfterSplit(_ nick: String, _ renamed: String) -> String {
        "While the chat servers were apart, a member on another server took the nickname \(nick) first; you are now \(renamed)."
    }
    public static let clusterWhole = "The link between chat servers is back: the room is whole again."
    public static let addressBanned = "You are banned from this server."
    public static let adminLoginDisabled = "Admin login is disabled on this server (no admin password hash is configured)."
    public static func nickInUse(_ nick: String) -> String {
        "The nickname \(nick)" + ServerReply.nickInUseSuffix
    }
    public static func invalidNick(_ problem: Nickname.Problem) -> String {
        ServerReply.invalidNickPrefix + "\(problem). Use up to \(Nickname.maximumByteCount) bytes with at least one letter or digit, and no spaces."
    }
    public static let adminNickReserved = "The nickname admin is reserved. Log in with admin:<password> instead."
    public static let expectedGreeting = "Expected NICK:<nickname> or admin:<password> as the first message."
    public static func adminOnly(_ command: String) -> String { "Only an admin can use /\(command)." }
    public static func usage(_ text: String) -> String { "Usage: \(text)" }
    public static func noSuchMember(_ nick: String) -> String { "No member is called \(nick)." }
    public static func cannotTargetYourself(_ command: String) -> String { "You cannot /\(command) yourself." }
    public static func cannotBanOwnAddress(_ nick: String) -> String {
        "\(nick) connects from your own address; banning it would lock you out too."
    }
    public static func cannotMuteOwnAddress(_ nick: String) -> String {
        "\(nick) connects from your own address; muting it would mute you too."
    }
    public static func cannotBanOwnRange(_ range: IPRange) -> String {
        "\(range) includes your own address; banning it would lock you out too."
    }
    public static func unknownCommand(_ name: String) -> String { "Unknown command /\(name). Type /help for the list." }
    public static func protocolError(_ description: String) -> String { "Protocol error: \(description)." }

    // Mutes
    public static func youWereMuted(seconds: Int64?, reason: String?) -> String {
        detailed("You have been muted by an admin", seconds: seconds, reason: reason)
    }
    public static func muted(_ nick: String, seconds: Int64?, reason: String?) -> String {
        detailed("\(nick) has been muted", seconds: seconds, reason: reason)
    }
    public static func youAreMuted(secondsLeft: Int64?) -> String {
        guard let secondsLeft else { return "You are muted." }
        return "You are muted for \(SanctionDuration.format(seconds: secondsLeft))."
    }
    public static func unmuted(_ nick: String, by actor: String) -> String { "\(nick) has been unmuted by \(actor)." }
    public static func muteExpired(_ nick: String) -> String { "\(nick)'s mute has expired." }
    public static func notMuted(_ nick: String) -> String { "\(nick) is not muted." }

    // Bans
    public static func banLifted(_ target: String, by actor: String) -> String { "The ban on \(target) has been lifted by \(actor)." }
    public static func banExpired(_ target: String) -> String { "The ban on \(target) has expired." }
    public static func noBanMatches(_ text: String) -> String { "No ban matches \(text)." }
    public static func noSuchTarget(_ text: String) -> String { "\(text) is neither a member's nickname nor an IP address or CIDR range." }

    // Slowmode and flood control
    public static func slowmodeOn(_ seconds: Int) -> String { "Slowmode is on: one message every \(SanctionDuration.format(seconds: Int64(seconds))) per member." }
    public static let slowmodeOff = "Slowmode is off."
    public static func slowmodeWait(_ seconds: Int64) -> String { ServerReply.slowmodeWait(seconds) }
    public static let tooFast = ServerReply.tooFast
    public static let disconnectedForFlooding = "You have been disconnected for flooding."
    public static func floodedOut(_ nick: String) -> String { "\(nick) was disconnected for flooding." }
    public static func tooManyJoins(secondsLeft: Int64) -> String {
        "Too many joins from your address; try again in \(SanctionDuration.format(seconds: secondsLeft))."
    }
    public static let handshakeTimedOut = "Timed out waiting for NICK:<nickname> or admin:<password>."

    // Everyone's commands
    public static func privateFrom(_ nick: String, _ text: String) -> String { "[PM from \(nick)] \(text)" }
    public static func privateTo(_ nick: String, _ text: String) -> String { "[PM to \(nick)] \(text)" }
    public static func action(_ nick: String, _ text: String) -> String { "* \(nick) \(text)" }
    public static func nickChanged(_ old: String, _ new: String) -> String { "\(old) is now known as \(new)." }
    public static let cannotMessageYourself = "You cannot send a private message to yourself."

    // Logins
    public static func loggedIn(account: String) -> String { ServerReply.loggedInPrefix + " (account \(account))." }
    public static func becameAdmin(_ nick: String) -> String { nick + ServerReply.becameAdminSuffix }
    public static let alreadyAdmin = "You are already an admin."
    public static func adminLoggedOut(reason: String, disconnected: Bool) -> String {
        "You are no longer an admin: \(reason)." + (disconnected ? " Log in again." : "")
    }
    public static func loginThrottled(_ seconds: Int64) -> String {
        "Too many failed logins from your address; try again in \(SanctionDuration.format(seconds: seconds))."
    }
    public static let loginFailed = "Login failed: unknown account or wrong password."
    /// To TLS members before a restart in place: their sessions cannot be handed over.
    public static let restartingTLS = "\(ServerReply.restartingPrefix); TLS connections cannot be handed over, so reconnect in a moment."
    public static let loginNeedsTLS = "Login refused: this server accepts passwords only over TLS (connect with chatroom --tls); change the password if you sent it here."
    public static let loginBusy = "The server is checking too many logins right now; try again in a few seconds."
    public static let loginInterrupted = "Your login was interrupted by a server restart; send it again."
    public static let loginInProgress = "Your login is still being checked; wait for its answer."

    // Restarts (the daemon's handover; see docs/operations.md)
    /// To members a successor restored from its crash journal after the previous process died.
    public static let restoredAfterFailure = "The server restarted after a failure and kept your connection; lines sent in its last moments may be lost."
    /// To a connection a successor could not take over, just before it is closed.
    public static func notRestored(_ why: String) -> String {
        "The server restarted and could not keep your session (\(why)); connect again."
    }

    // Topic
    public static func topic(_ topic: Topic) -> String { ServerReply.topicPrefix + topic.text }
    public static func topicChanged(_ topic: Topic) -> String { "\(topic.setBy) set the topic: \(topic.text)" }
    public static func topicCleared(by actor: String) -> String { "\(actor) cleared the topic." }
    public static let noTopic = "No topic is set."
    public static let topicAdminOnly = "Only an admin can change the topic."
    public static let topicTooLong = "The topic is too long (at most \(Topic.maximumCharacters) characters)."

    public static func serverNotice(_ text: String) -> String { ServerReply.serverNotice(text) }

    /// To whoever made a change that holds now but could not be written to disk.
    public static func notSaved(_ reason: String) -> String {
        "Warning: this change holds now but could not be saved, so a restart would undo it (\(reason)); the server keeps retrying."
    }

    /// `base` + ` for 10m` + `.` + ` Reason: text`; with neither, exactly `base.`
    static func detailed(_ base: String, seconds: Int64?, reason: String?) -> String {
        var text = base
        if let seconds { text += " for \(SanctionDuration.format(seconds: seconds))" }
        text += "."
        if let reason, !reason.isEmpty { text += " Reason: \(reason)" }
        return text
    }
}
