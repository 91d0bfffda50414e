import ChatProtocol

/// The handlers of `Room.commands`: each parses its arguments, checks what only it knows,
/// and carries the command out. Sanctions live in `Room+Sanctions.swift`, the topic in
/// `Room+Topic.swift`.
extension Room {
    // MARK: Every member's

    func action(_ call: CommandCall, _ effects: inout [RoomEffect]) -> CommandResult {
        guard let speaker = call.speaker, !call.arguments.isEmpty else { return usageError(call, &effects) }
        var member = speaker.member
        var text = call.arguments
        text.withUTF8 {
            speak(UnsafeRawBufferPointer($0), from: speaker.client, &member, peer: speaker.peer, asAction: true, now: call.now, effects: &effects)
        }
        return .done
    }

    func privateMessage(_ call: CommandCall, _ effects: inout [RoomEffect]) -> CommandResult {
        guard let (client, member, _) = call.speaker else { return .refused }
        let trimmed = call.arguments.drop { $0.isWhitespace }
        let targetNick = String(trimmed.prefix { !$0.isWhitespace })
        let text = String(trimmed.dropFirst(targetNick.count).drop { $0.isWhitespace })
        guard !targetNick.isEmpty, !text.isEmpty else { return usageError(call, &effects) }
        if let mute = activeMute(for: member, now: call.now) {
            return refuse(call.moderator, Notice.youAreMuted(secondsLeft: mute.secondsLeft(at: call.now)), effects: &effects)
        }
        guard let (targetID, target, _) = self.member(named: targetNick) else {
            if let remote = remoteMember(named: targetNick),
               publishToOthers(.privateMessage(from: member.nick, to: remote.nick, text: text)) {
                reply(Notice.privateTo(remote.nick, text), to: client, effects: &effects)
                return .done
            }
            return refuse(call.moderator, Notice.noSuchMember(targetNick), effects: &effects)
        }
        guard targetID != client else { return refuse(call.moderator, Notice.cannotMessageYourself, effects: &effects) }
        effects.append(.send(FrameEncoder.frame(Notice.privateFrom(member.nick, text)), to: targetID))
        reply(Notice.privateTo(target.nick, text), to: client, effects: &effects)
        return .done
    }

    func changeNick(_ call: CommandCall, _ effects: inout [RoomEffect]) -> CommandResult {
        guard let (client, member, peer) = call.speaker else { return .refused }
        // A rename is announced to the room, so a muted member may not use it to talk.
        if let mute = activeMute(for: member, now: call.now) {
            return refuse(call.moderator, Notice.youAreMuted(secondsLeft: mute.secondsLeft(at: call.now)), effects: &effects)
        }
        let newNick = call.arguments.trimmingWhitespace()
        guard !newNick.isEmpty else { return usageError(call, &effects) }
        if let problem = nicknames.problem(with: newNick) { return refuse(call.moderator, Notice.invalidNick(problem), effects: &effects) }
        let newKey = nicknames.key(newNick)
        if nicknames.isAdminNick(newNick) && !member.isAdmin { return refuse(call.moderator, Notice.adminNickReserved, effects: &effects) }
        if let holder = nickIndex[newKey], holder != client { return refuse(call.moderator, Notice.nickInUse(newNick), effects: &effects) }
        guard newNick != member.nick else { return .done }
        // In a cluster the new nickname is first claimed across the nodes; the rename
        // happens when the claim comes back (`nickClaimed`).
        if let claimed = claimBeforeRenaming(client, from: member.nick, to: newNick, moderator: call.moderator, effects: &effects) {
            return claimed
        }
        rename(client, member, peer: peer, to: newNick, effects: &effects)
        return .done
    }

    /// Carries out a rename whose nickname is known to be free.
    func rename(_ client: ClientID, _ member: Member, peer: String, to newNick: String, effects: inout [RoomEffect]) {
        var renamed = member
        renamed.nick = newNick
        renamed.chatPrefix = Array(ServerReply.chatLine(newNick, "").utf8)
        nickIndex[nicknames.key(member.nick)] = nil
        nickIndex[nicknames.key(newNick)] = client
        clients[client] = .member(renamed, peer: peer)
        noteChanged(client)
        // The other nodes' rosters first: whoever sees the notice can already reach NEW.
        if cluster != nil { clusterRenamed(client, from: member.nick, to: newNick) }
        broadcast(Notice.nickChanged(member.nick, newNick), effects: &effects)
        effects.append(.log(RoomLogRecord(level: .info, event: "nick", message: "\(member.nick) is now known as \(newNick)",
                                          fields: ["chat_nick": newNick, "chat_old_nick": member.nick, "chat_peer": peer])))
    }

    func login(_ call: CommandCall, _ effects: inout [RoomEffect]) -> CommandResult {
        guard let (client, member, peer) = call.speaker else { return .refused }
        let tokens = call.arguments.split(separator: " ", maxSplits: 1).map(String.init)
        guard tokens.count == 2 else { return usageError(call, &effects) }
        guard !member.isAdmin else { return refuse(call.moderator, Notice.alreadyAdmin, effects: &effects) }
        guard !isCheckingLogin(client) else { return refuse(call.moderator, Notice.loginInProgress, effects: &effects) }
        switch startLogin(account: tokens[0], password: tokens[1], client: client, address: member.address, peer: peer,
                          viaGreeting: false, now: call.now, effects: &effects) {
        case .started:
            return .done  // the answer comes with the check's result
        case .disabled, .unknownAccount:
            return refuse(call.moderator, Notice.loginFailed, effects: &effects)
        case .busy:
            return refuse(call.moderator, Notice.loginBusy, effects: &effects)
        case .needsTLS:
            return refuse(call.moderator, Notice.loginNeedsTLS, effects: &effects)
        case let .throttled(seconds):
            return refuse(call.moderator, Notice.loginThrottled(seconds), effects: &effects)
        }
    }

    func whoLine(now: RoomTime) -> String {
        if clusterNode != nil { return clusterWhoLine(now: now) }
        let list = memberList(now: now).sorted { Nickname.key($0.nick) < Nickname.key($1.nick) }
        let names = list.map { info in
            info.nick + (info.isAdmin ? " [admin]" : "") + (info.isMuted ? " [muted]" : "")
        }
        return "\(list.count) member\(list.count == 1 ? "" : "s"): " + names.joined(separator: ", ")
    }

    // MARK: Moderation: arguments parsed here, carried out in Room+Sanctions

    func kickCommand(_ call: CommandCall, _ effects: inout [RoomEffect]) -> CommandResult {
        var tokens = call.tokens
        guard !tokens.isEmpty else { return usageError(call, &effects) }
        let target = tokens.removeFirst()
        return kick(target, reason: Self.reason(tokens), by: call.moderator, effects: &effects)
    }

    func banCommand(_ call: CommandCall, _ effects: inout [RoomEffect]) -> CommandResult {
        var tokens = call.tokens
        guard !tokens.isEmpty else { return usageError(call, &effects) }
        let target = tokens.removeFirst()
        var seconds: Int64? = nil
        var purge = false
        while let first = tokens.first {
            if first == "--purge" { purge = true } else if seconds == nil, let parsed = SanctionDuration.parse(first) { seconds = parsed } else { break }
            tokens.removeFirst()
        }
        if let forwarded = forwardToMembersNode(target, call, &effects) { return forwarded }
        return ban(target, seconds: seconds, reason: Self.reason(tokens), purge: purge, by: call.moderator, now: call.now, effects: &effects)
    }

    func unbanCommand(_ call: CommandCall, _ effects: inout [RoomEffect]) -> CommandResult {
        let tokens = call.tokens
        guard tokens.count == 1 else { return usageError(call, &effects) }
        return unban(tokens[0], by: call.moderator, effects: &effects)
    }

    func muteCommand(_ call: CommandCall, _ effects: inout [RoomEffect]) -> CommandResult {
        var tokens = call.tokens
        guard !tokens.isEmpty else { return usageError(call, &effects) }
        let target = tokens.removeFirst()
        var seconds: Int64? = nil
        if let first = tokens.first, let parsed = SanctionDuration.parse(first) {
            seconds = parsed
            tokens.removeFirst()
        }
        if let forwarded = forwardToMembersNode(target, call, &effects) { return forwarded }
        return mute(target, seconds: seconds, reason: Self.reason(tokens), by: call.moderator, now: call.now, effects: &effects)
    }

    func unmuteCommand(_ call: CommandCall, _ effects: inout [RoomEffect]) -> CommandResult {
        let tokens = call.tokens
        guard tokens.count == 1 else { return usageError(call, &effects) }
        return unmute(tokens[0], by: call.moderator, effects: &effects)
    }

    func slowmodeCommand(_ call: CommandCall, _ effects: inout [RoomEffect]) -> CommandResult {
        let tokens = call.tokens
        guard tokens.count == 1 else { return usageError(call, &effects) }
        if ["off", "0"].contains(tokens[0].lowercased()) {
            return setSlowmode(nil, by: call.moderator, effects: &effects)
        }
        guard let seconds = SanctionDuration.parse(tokens[0]), seconds <= 86_400 else {
            return usageError(call, &effects, note: " (at most one day)")
        }
        return setSlowmode(Int(seconds), by: call.moderator, effects: &effects)
    }

    func say(_ call: CommandCall, _ effects: inout [RoomEffect]) -> CommandResult {
        let text = call.arguments.trimmingWhitespace()
        guard !text.isEmpty else { return usageError(call, &effects) }
        broadcast(Notice.serverNotice(text), effects: &effects)
        effects.append(.log(RoomLogRecord(level: .notice, event: "say", message: "\(call.moderator.name) said to the room: \(text)",
                                          fields: ["chat_by": call.moderator.name])))
        if call.moderator.client == nil { tell(call.moderator, "Said to \(memberOrder.count) member(s).", effects: &effects) }
        return .done
    }

    static func reason(_ tokens: [String]) -> String? {
        tokens.isEmpty ? nil : tokens.joined(separator: " ")
    }
}
