import ChatProtocol

extension Room {
    static let everyoneHelp = [
        "Commands:",
        "  /who                      who is here ([admin], [muted] marked)",
        "  /msg <nick> <text>        a private message",
        "  /me <action>              * you do something",
        "  /nick <new>               change your nickname",
        "  /login <account> <pass>   become an admin",
        "  !DC                       leave",
    ]
    static let adminHelp = [
        "Admin commands:",
        "  /kick <nick> [reason]",
        "  /ban <nick|address|cidr> [duration] [--purge] [reason]   durations: 30s 10m 2h 7d; none = permanent",
        "  /unban <address|cidr|nick>",
        "  /bans                     bans and mutes with time left",
        "  /mute <nick> [duration] [reason]",
        "  /unmute <nick>",
        "  /slowmode <seconds|off>",
        "  /say <text>               a server notice to the room",
    ]

    func runMemberCommand(_ name: String, arguments: String, from client: ClientID, _ member: Member, peer: String,
                          now: RoomTime, effects: inout [RoomEffect]) {
        let moderator = Moderator(name: member.nick, client: client, address: member.address)
        switch name {
        case "help":
            for line in Self.everyoneHelp + (member.isAdmin ? Self.adminHelp : []) { reply(line, to: client, effects: &effects) }
        case "who":
            reply(whoLine(now: now), to: client, effects: &effects)
        case "me":
            guard !arguments.isEmpty else { return reply(Notice.usage("/me <action>"), to: client, effects: &effects) }
            var speaker = member
            var text = arguments
            text.withUTF8 { speak(UnsafeRawBufferPointer($0), from: client, &speaker, peer: peer, asAction: true, now: now, effects: &effects) }
        case "msg":
            privateMessage(arguments, from: client, member, now: now, effects: &effects)
        case "nick":
            // A rename is announced to the room, so a muted member may not use it to talk.
            if let mute = activeMute(for: member, now: now) {
                return reply(Notice.youAreMuted(secondsLeft: mute.expiresAt.map { $0 - now.unixSeconds }), to: client, effects: &effects)
            }
            changeNick(to: arguments.trimmingWhitespace(), client: client, member, peer: peer, effects: &effects)
        case "login":
            login(arguments, client: client, member, peer: peer, now: now, effects: &effects)
        case "kick", "ban", "unban", "bans", "mute", "unmute", "slowmode", "say":
            guard member.isAdmin else { return reply(Notice.adminOnly(name), to: client, effects: &effects) }
            moderate(name, arguments: arguments, by: moderator, now: now, effects: &effects)
        default:
            reply(Notice.unknownCommand(name), to: client, effects: &effects)
        }
    }

    /// A moderation command from the local operator (`chatroomctl`): the same rules and
    /// audit trail as an admin's, with replies as `.controlReply` effects.
    public func control(_ command: String, arguments: String, actor: String, now: RoomTime, effects: inout [RoomEffect]) {
        let moderator = Moderator(name: actor, client: nil, address: nil)
        switch command {
        case "who":
            effects.append(.controlReply(whoLine(now: now)))
        default:
            moderate(command, arguments: arguments, by: moderator, now: now, effects: &effects)
        }
    }

    func moderate(_ name: String, arguments: String, by moderator: Moderator, now: RoomTime, effects: inout [RoomEffect]) {
        var tokens = arguments.split(whereSeparator: \.isWhitespace).map(String.init)
        switch name {
        case "kick":
            guard !tokens.isEmpty else { return tell(moderator, Notice.usage("/kick <nick> [reason]"), effects: &effects) }
            let target = tokens.removeFirst()
            kick(target, reason: Self.reason(tokens), by: moderator, effects: &effects)
        case "ban":
            guard !tokens.isEmpty else {
                return tell(moderator, Notice.usage("/ban <nick|address|cidr> [duration] [--purge] [reason]"), effects: &effects)
            }
            let target = tokens.removeFirst()
            var seconds: Int64? = nil
            var purge = false
            while let first = tokens.first {
                if first == "--purge" { purge = true } else if seconds == nil, let parsed = SanctionDuration.parse(first) { seconds = parsed } else { break }
                tokens.removeFirst()
            }
            ban(target, seconds: seconds, reason: Self.reason(tokens), purge: purge, by: moderator, now: now, effects: &effects)
        case "unban":
            guard tokens.count == 1 else { return tell(moderator, Notice.usage("/unban <address|cidr|nick>"), effects: &effects) }
            unban(tokens[0], by: moderator, effects: &effects)
        case "bans":
            for line in sanctionLines(now: now) { tell(moderator, line, effects: &effects) }
        case "mute":
            guard !tokens.isEmpty else { return tell(moderator, Notice.usage("/mute <nick> [duration] [reason]"), effects: &effects) }
            let target = tokens.removeFirst()
            var seconds: Int64? = nil
            if let first = tokens.first, let parsed = SanctionDuration.parse(first) {
                seconds = parsed
                tokens.removeFirst()
            }
            mute(target, seconds: seconds, reason: Self.reason(tokens), by: moderator, now: now, effects: &effects)
        case "unmute":
            guard tokens.count == 1 else { return tell(moderator, Notice.usage("/unmute <nick>"), effects: &effects) }
            unmute(tokens[0], by: moderator, effects: &effects)
        case "slowmode":
            guard tokens.count == 1 else { return tell(moderator, Notice.usage("/slowmode <seconds|off>"), effects: &effects) }
            if ["off", "0"].contains(tokens[0].lowercased()) {
                setSlowmode(nil, by: moderator, effects: &effects)
            } else if let seconds = SanctionDuration.parse(tokens[0]), seconds <= 86_400 {
                setSlowmode(Int(seconds), by: moderator, effects: &effects)
            } else {
                tell(moderator, Notice.usage("/slowmode <seconds|off> (at most one day)"), effects: &effects)
            }
        case "say":
            let text = arguments.trimmingWhitespace()
            guard !text.isEmpty else { return tell(moderator, Notice.usage("/say <text>"), effects: &effects) }
            broadcast(Notice.serverNotice(text), effects: &effects)
            effects.append(.log(RoomLogRecord(level: .notice, event: "say", message: "\(moderator.name) said to the room: \(text)",
                                              fields: ["chat_by": moderator.name])))
            if moderator.client == nil { tell(moderator, "Said to \(memberOrder.count) member(s).", effects: &effects) }
        default:
            tell(moderator, "Unknown command \(name).", effects: &effects)
        }
    }

    static func reason(_ tokens: [String]) -> String? {
        tokens.isEmpty ? nil : tokens.joined(separator: " ")
    }

    func whoLine(now: RoomTime) -> String {
        let list = memberList(now: now).sorted { Nickname.key($0.nick) < Nickname.key($1.nick) }
        let names = list.map { info in
            info.nick + (info.isAdmin ? " [admin]" : "") + (info.isMuted ? " [muted]" : "")
        }
        return "\(list.count) member\(list.count == 1 ? "" : "s"): " + names.joined(separator: ", ")
    }

    private func privateMessage(_ arguments: String, from client: ClientID, _ member: Member, now: RoomTime,
                                effects: inout [RoomEffect]) {
        let trimmed = arguments.drop { $0.isWhitespace }
        let targetNick = String(trimmed.prefix { !$0.isWhitespace })
        let text = String(trimmed.dropFirst(targetNick.count).drop { $0.isWhitespace })
        guard !targetNick.isEmpty, !text.isEmpty else { return reply(Notice.usage("/msg <nick> <text>"), to: client, effects: &effects) }
        if let mute = activeMute(for: member, now: now) {
            return reply(Notice.youAreMuted(secondsLeft: mute.expiresAt.map { $0 - now.unixSeconds }), to: client, effects: &effects)
        }
        guard let (targetID, target, _) = self.member(named: targetNick) else {
            return reply(Notice.noSuchMember(targetNick), to: client, effects: &effects)
        }
        guard targetID != client else { return reply(Notice.cannotMessageYourself, to: client, effects: &effects) }
        effects.append(.send(FrameEncoder.frame(Notice.privateFrom(member.nick, text)), to: targetID))
        reply(Notice.privateTo(target.nick, text), to: client, effects: &effects)
    }

    private func changeNick(to newNick: String, client: ClientID, _ member: Member, peer: String, effects: inout [RoomEffect]) {
        guard !newNick.isEmpty else { return reply(Notice.usage("/nick <new>"), to: client, effects: &effects) }
        if let problem = Nickname.problem(with: newNick) { return reply(Notice.invalidNick(problem), to: client, effects: &effects) }
        let newKey = Nickname.key(newNick)
        if Nickname.isAdminNick(newNick) && !member.isAdmin { return reply(Notice.adminNickReserved, to: client, effects: &effects) }
        if let holder = nickIndex[newKey], holder != client { return reply(Notice.nickInUse(newNick), to: client, effects: &effects) }
        guard newNick != member.nick else { return }
        var renamed = member
        renamed.nick = newNick
        renamed.chatPrefix = Array("\(newNick): ".utf8)
        nickIndex[Nickname.key(member.nick)] = nil
        nickIndex[newKey] = client
        clients[client] = .member(renamed, peer: peer)
        broadcast(Notice.nickChanged(member.nick, newNick), effects: &effects)
        effects.append(.log(RoomLogRecord(level: .info, event: "nick", message: "\(member.nick) is now known as \(newNick)",
                                          fields: ["chat_nick": newNick, "chat_old_nick": member.nick, "chat_peer": peer])))
    }

    private func login(_ arguments: String, client: ClientID, _ member: Member, peer: String, now: RoomTime,
                       effects: inout [RoomEffect]) {
        let tokens = arguments.split(separator: " ", maxSplits: 1).map(String.init)
        guard tokens.count == 2 else { return reply(Notice.usage("/login <account> <password>"), to: client, effects: &effects) }
        guard !member.isAdmin else { return reply(Notice.alreadyAdmin, to: client, effects: &effects) }
        switch authenticate(account: tokens[0], password: tokens[1], address: member.address, peer: peer, now: now, effects: &effects) {
        case .success:
            var promoted = member
            promoted.isAdmin = true
            promoted.account = tokens[0]
            clients[client] = .member(promoted, peer: peer)
            reply(Notice.loggedIn(account: tokens[0]), to: client, effects: &effects)
            broadcast(Notice.becameAdmin(member.nick), effects: &effects)
            effects.append(.log(RoomLogRecord(level: .notice, event: "admin-login",
                                              message: "\(member.nick) logged in as admin account \(tokens[0]) from \(peer)",
                                              fields: ["chat_nick": member.nick, "chat_account": tokens[0], "chat_peer": peer])))
        case .noSuchAccount, .wrongPassword:
            reply(Notice.loginFailed, to: client, effects: &effects)
        case let .throttled(seconds):
            reply(Notice.loginThrottled(seconds), to: client, effects: &effects)
        }
    }
}
