import ChatProtocol

/// A connection's first frame: `NICK:<nick>` or `admin:<password>`, checked, then either
/// refused with a reason or admitted with the greeting, the topic, the history and the
/// announcement. Also the password check every login goes through.
extension Room {
    func greet(_ client: ClientID, text: String, address: IPAddress, peer: String, now: RoomTime, effects: inout [RoomEffect]) {
        switch ClientRequest.parseGreeting(text) {
        case let .join(nick):
            if nicknames.isAdminNick(nick) {
                return refuse(client, Notice.adminNickReserved, reason: "tried the admin nick without a password", peer: peer, effects: &effects)
            }
            if let problem = nicknames.problem(with: nick) {
                return refuse(client, Notice.invalidNick(problem), reason: "invalid nickname: \(problem)", peer: peer, effects: &effects)
            }
            admit(client, nick: nick, account: nil, address: address, peer: peer, now: now, effects: &effects)
        case let .adminJoin(password):
            switch authenticate(account: Nickname.adminNick, password: password, address: address, peer: peer, now: now, effects: &effects) {
            case .success:
                admit(client, nick: Nickname.adminNick, account: Nickname.adminNick, address: address, peer: peer, now: now, effects: &effects)
            case .noSuchAccount:
                refuse(client, Notice.adminLoginDisabled, reason: "admin login disabled", peer: peer, logged: false, effects: &effects)
            case .wrongPassword:
                refuse(client, Notice.incorrectPassword, reason: "incorrect admin password", peer: peer, logged: false, effects: &effects)
            case let .throttled(seconds):
                refuse(client, Notice.loginThrottled(seconds), reason: "login throttled", peer: peer, logged: false, effects: &effects)
            }
        case .unrecognizedGreeting:
            refuse(client, Notice.expectedGreeting, reason: "first message was not NICK: or admin:", peer: peer, effects: &effects)
        case .disconnect, .command, .chat:
            preconditionFailure("parseGreeting returns greetings only")
        }
    }

    enum LoginOutcome: Equatable { case success, noSuchAccount, wrongPassword, throttled(Int64) }

    /// Checks a password with per-address throttling; logs failures with the address.
    func authenticate(account: String, password: String, address: IPAddress, peer: String, now: RoomTime,
                      effects: inout [RoomEffect]) -> LoginOutcome {
        if let wait = loginThrottle.waitSeconds(for: address, now: now.nanoseconds) {
            effects.append(.log(RoomLogRecord(level: .warning, event: "admin-login-failed",
                                              message: "Login to \(account) from \(peer) refused: throttled for \(wait) s",
                                              fields: ["chat_peer": peer, "chat_account": account, "chat_reason": "throttled"])))
            return .throttled(wait)
        }
        guard let verifier = configuration.accounts[account] else {
            if account == Nickname.adminNick && configuration.accounts.isEmpty {
                effects.append(.log(RoomLogRecord(level: .warning, event: "admin-login-failed",
                                                  message: "Admin login from \(peer) refused: no admin password hash is configured",
                                                  fields: ["chat_peer": peer, "chat_reason": "admin login disabled"])))
                return .noSuchAccount
            }
            // An unknown account counts as a failure, so names cannot be probed for free.
            let failures = loginThrottle.recordFailure(address, now: now.nanoseconds)
            effects.append(.log(RoomLogRecord(level: .warning, event: "admin-login-failed",
                                              message: "Failed login to unknown account \(account) from \(peer)",
                                              fields: ["chat_peer": peer, "chat_account": account, "chat_reason": "unknown account",
                                                       "chat_failures": "\(failures)"])))
            return account == Nickname.adminNick ? .noSuchAccount : .wrongPassword
        }
        guard verifier.verify(password: password) else {
            let failures = loginThrottle.recordFailure(address, now: now.nanoseconds)
            effects.append(.log(RoomLogRecord(level: .warning, event: "admin-login-failed",
                                              message: account == Nickname.adminNick ? "Failed admin login from \(peer)" : "Failed login to account \(account) from \(peer)",
                                              fields: ["chat_peer": peer, "chat_account": account, "chat_reason": "incorrect password",
                                                       "chat_failures": "\(failures)"])))
            return .wrongPassword
        }
        loginThrottle.recordSuccess(address)
        return .success
    }

    func refuse(_ client: ClientID, _ text: String, reason: String, peer: String, logged: Bool = true, effects: inout [RoomEffect]) {
        clients[client] = nil
        effects.append(.send(FrameEncoder.frame(text), to: client))
        effects.append(.close(client, reason: reason))
        if logged {
            effects.append(.log(RoomLogRecord(level: .info, event: "join-refused",
                                              message: "Refused join from \(peer): \(reason)",
                                              fields: ["chat_peer": peer, "chat_reason": reason])))
        }
    }

    func admit(_ client: ClientID, nick: String, account: String?, address: IPAddress, peer: String,
                       now: RoomTime, effects: inout [RoomEffect]) {
        let key = nicknames.key(nick)
        if nickIndex[key] != nil {
            return refuse(client, Notice.nickInUse(nick), reason: "nickname in use", peer: peer, effects: &effects)
        }
        let isAdmin = account != nil
        let member = Member(nick: nick, chatPrefix: Array(ServerReply.chatLine(nick, "").utf8), isAdmin: isAdmin, account: account,
                            address: address, orderIndex: memberOrder.count,
                            bucket: TokenBucket(burst: configuration.floodBurst, now: now.nanoseconds))
        memberOrder.append(client)
        nickIndex[key] = client
        clients[client] = .member(member, peer: peer)
        effects.append(.send(FrameEncoder.frame(Notice.connected), to: client))
        if let topic { effects.append(.send(FrameEncoder.frame(Notice.topic(topic)), to: client)) }
        for frame in history.replayFrames() {
            effects.append(.send(frame, to: client))
        }
        broadcast(isAdmin ? Notice.adminJoined : Notice.joined(nick), effects: &effects)
        var fields = ["chat_nick": nick, "chat_peer": peer]
        if let account { fields["chat_account"] = account }
        effects.append(.log(RoomLogRecord(level: .info, event: isAdmin ? "admin-login" : "join",
                                          message: isAdmin ? "Admin logged in from \(peer)" : "\(nick) joined from \(peer)",
                                          fields: fields)))
    }
}
