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
            switch startLogin(account: Nickname.adminNick, password: password, client: client, address: address, peer: peer,
                              viaGreeting: true, now: now, effects: &effects) {
            case .started:
                break
            case .disabled, .unknownAccount:
                refuse(client, Notice.adminLoginDisabled, reason: "admin login disabled", peer: peer, logged: false, effects: &effects)
            case .busy:
                refuse(client, Notice.loginBusy, reason: "too many password checks in progress", peer: peer, logged: false, effects: &effects)
            case .needsTLS:
                refuse(client, Notice.loginNeedsTLS, reason: "login not over TLS", peer: peer, logged: false, effects: &effects)
            case let .throttled(seconds):
                refuse(client, Notice.loginThrottled(seconds), reason: "login throttled", peer: peer, logged: false, effects: &effects)
            }
        case .unrecognizedGreeting:
            refuse(client, Notice.expectedGreeting, reason: "first message was not NICK: or admin:", peer: peer, effects: &effects)
        case .disconnect, .command, .chat:
            preconditionFailure("parseGreeting returns greetings only")
        }
    }

    func refuse(_ client: ClientID, _ text: String, reason: String, peer: String, logged: Bool = true, effects: inout [RoomEffect]) {
        clients[client] = nil
        noteChanged(client)
        effects.append(.send(FrameEncoder.frame(text), to: client))
        effects.append(.close(client, reason: reason))
        if logged {
            effects.append(.log(RoomLogRecord(level: .info, event: "join-refused",
                                              message: "Refused join from \(peer): \(reason)",
                                              fields: ["chat_peer": peer, "chat_reason": reason])))
        }
    }

    func admit(_ client: ClientID, nick: String, account: String?, address: IPAddress, peer: String,
               claimed: Bool = false, now: RoomTime, effects: inout [RoomEffect]) {
        if !claimed, let wait = admitJoin(from: address, now: now) {
            return refuse(client, Notice.tooManyJoins(secondsLeft: wait), reason: "too many joins from its address", peer: peer, effects: &effects)
        }
        let key = nicknames.key(nick)
        if nickIndex[key] != nil {
            return refuse(client, Notice.nickInUse(nick), reason: "nickname in use", peer: peer, effects: &effects)
        }
        // In a cluster the nickname must be free on every node: claimed first, then admitted.
        if cluster != nil, !claimed,
           claimBeforeJoining(client, key: key, nick: nick, account: account, address: address, peer: peer, effects: &effects) {
            return
        }
        let isAdmin = account != nil
        let member = Member(nick: nick, chatPrefix: Array(ServerReply.chatLine(nick, "").utf8), isAdmin: isAdmin, account: account,
                            address: address, orderIndex: memberOrder.count,
                            bucket: TokenBucket(burst: configuration.floodBurst, now: now.nanoseconds))
        memberOrder.append(client)
        nickIndex[key] = client
        clients[client] = .member(member, peer: peer)
        noteChanged(client)
        if cluster != nil { clusterMembership(nick, joined: true) }
        effects.append(.send(FrameEncoder.frame(Notice.connected), to: client))
        if let topic { effects.append(.send(FrameEncoder.frame(Notice.topic(topic)), to: client)) }
        for frame in history.replayFrames() {
            effects.append(.send(frame, to: client))
        }
        announceJoin(member, client: client, now: now, effects: &effects)
        var fields = ["chat_nick": nick, "chat_peer": peer]
        if let account { fields["chat_account"] = account }
        effects.append(.log(RoomLogRecord(level: .info, event: isAdmin ? "admin-login" : "join",
                                          message: isAdmin ? "Admin logged in from \(peer)" : "\(nick) joined from \(peer)",
                                          fields: fields)))
    }
}
