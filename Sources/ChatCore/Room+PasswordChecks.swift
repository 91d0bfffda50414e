import ChatProtocol

/// One password to check against one stored hash. Slow hashes (yescrypt: ~20 ms) are
/// checked off the event loop: the Room asks with `.verifyPassword` and hears the answer
/// through `passwordChecked`, so no client can make the loop wait on a hash.
public struct PasswordCheck: Sendable {
    public let id: UInt64
    public let verifier: any PasswordVerifier
    public let password: String
}

/// A login waiting for its check.
struct PendingLogin {
    let client: ClientID
    let account: String
    let address: IPAddress
    let host: IPRange
    let peer: String
    /// `admin:<password>` as the first frame; else `/login` from a member.
    let viaGreeting: Bool
    /// An unknown account, checked against a decoy hash so that the answer takes as long
    /// as for a real one; the answer is no whatever the hash says.
    let decoy: Bool
}

extension Room {
    /// Frames a connection may send while its `admin:` login is checked; they are handled
    /// once it is admitted.
    static let framesHeldDuringLogin = 16

    enum LoginStart { case started, throttled(Int64), disabled, busy, unknownAccount, needsTLS }

    /// Starts checking `password` for `account`: throttled addresses, disabled logins and
    /// too many checks in flight (per host and in all) are answered at once.
    func startLogin(account: String, password: String, client: ClientID, address: IPAddress, peer: String,
                    viaGreeting: Bool, now: RoomTime, effects: inout [RoomEffect]) -> LoginStart {
        if configuration.requireSecureLogin && !secureClients.contains(client) {
            effects.append(.log(RoomLogRecord(level: .warning, event: "admin-login-failed",
                                              message: "Login to \(account) from \(peer) refused: not over TLS (require-tls-for-login)",
                                              fields: ["chat_peer": peer, "chat_account": account, "chat_reason": "not over TLS"])))
            return .needsTLS
        }
        if let wait = loginThrottle.waitSeconds(for: address, now: now.nanoseconds) {
            effects.append(.log(RoomLogRecord(level: .warning, event: "admin-login-failed",
                                              message: "Login to \(account) from \(peer) refused: throttled for \(wait) s",
                                              fields: ["chat_peer": peer, "chat_account": account, "chat_reason": "throttled"])))
            return .throttled(wait)
        }
        if configuration.accounts.isEmpty && account == Nickname.adminNick {
            effects.append(.log(RoomLogRecord(level: .warning, event: "admin-login-failed",
                                              message: "Admin login from \(peer) refused: no admin password hash is configured",
                                              fields: ["chat_peer": peer, "chat_reason": "admin login disabled"])))
            return .disabled
        }
        let host = hostRange(address)
        guard passwordChecks.count < configuration.passwordChecksInFlight,
              passwordChecksByHost[host, default: 0] < configuration.passwordChecksPerAddress else {
            effects.append(.log(RoomLogRecord(level: .warning, event: "admin-login-failed",
                                              message: "Login to \(account) from \(peer) refused: too many checks in progress",
                                              fields: ["chat_peer": peer, "chat_account": account, "chat_reason": "busy"])))
            return .busy
        }
        let known = configuration.accounts[account]
        guard let verifier = known ?? configuration.decoyVerifier else {
            finishFailedLogin(account: account, address: address, peer: peer, unknown: true, now: now, effects: &effects)
            return .unknownAccount
        }
        nextPasswordCheck &+= 1
        let id = nextPasswordCheck
        passwordChecks[id] = PendingLogin(client: client, account: account, address: address, host: host, peer: peer,
                                          viaGreeting: viaGreeting, decoy: known == nil)
        passwordChecksByHost[host, default: 0] += 1
        if viaGreeting { framesHeldDuringLogin[client] = [] }
        effects.append(.verifyPassword(PasswordCheck(id: id, verifier: verifier, password: password)))
        return .started
    }

    /// The answer to a `.verifyPassword`. A connection that went away meanwhile is
    /// forgotten; a failure still counts against its address.
    public func passwordChecked(_ id: UInt64, matched: Bool, now: RoomTime, effects: inout [RoomEffect]) {
        guard let pending = passwordChecks.removeValue(forKey: id) else { return }
        if let count = passwordChecksByHost[pending.host], count > 1 { passwordChecksByHost[pending.host] = count - 1 }
        else { passwordChecksByHost[pending.host] = nil }
        let held = framesHeldDuringLogin.removeValue(forKey: pending.client) ?? []
        let succeeded = matched && !pending.decoy
        if succeeded { loginThrottle.recordSuccess(pending.address) } else {
            finishFailedLogin(account: pending.account, address: pending.address, peer: pending.peer, unknown: pending.decoy,
                              now: now, effects: &effects)
        }
        if pending.viaGreeting {
            guard case .greeting? = clients[pending.client] else { return }
            guard succeeded else {
                return refuse(pending.client, pending.decoy ? Notice.adminLoginDisabled : Notice.incorrectPassword,
                              reason: "incorrect admin password", peer: pending.peer, logged: false, effects: &effects)
            }
            admit(pending.client, nick: Nickname.adminNick, account: Nickname.adminNick, address: pending.address, peer: pending.peer,
                  now: now, effects: &effects)
            for frame in held where clients[pending.client] != nil {
                frame.withUnsafeBytes { frameReceived($0, from: pending.client, now: now, effects: &effects) }
            }
            return
        }
        guard case let .member(member, peer)? = clients[pending.client] else { return }
        guard succeeded, !member.isAdmin else {
            return reply(member.isAdmin ? Notice.alreadyAdmin : Notice.loginFailed, to: pending.client, effects: &effects)
        }
        var promoted = member
        promoted.isAdmin = true
        promoted.account = pending.account
        clients[pending.client] = .member(promoted, peer: peer)
        noteChanged(pending.client)
        reply(Notice.loggedIn(account: pending.account), to: pending.client, effects: &effects)
        broadcast(Notice.becameAdmin(member.nick), effects: &effects)
        effects.append(.log(RoomLogRecord(level: .notice, event: "admin-login",
                                          message: "\(member.nick) logged in as admin account \(pending.account) from \(peer)",
                                          fields: ["chat_nick": member.nick, "chat_account": pending.account, "chat_peer": peer])))
    }

    /// Whether `client` has a login being checked.
    func isCheckingLogin(_ client: ClientID) -> Bool { passwordChecks.values.contains { $0.client == client } }

    /// A frame from a connection whose `admin:` login is being checked: kept for after.
    /// False when too many are waiting (the connection is then closed as a violation).
    func holdDuringLogin(_ payload: UnsafeRawBufferPointer, from client: ClientID) -> Bool {
        guard var held = framesHeldDuringLogin[client] else { return false }
        guard held.count < Self.framesHeldDuringLogin else { return false }
        held.append(Array(payload))
        framesHeldDuringLogin[client] = held
        return true
    }

    private func finishFailedLogin(account: String, address: IPAddress, peer: String, unknown: Bool, now: RoomTime,
                                   effects: inout [RoomEffect]) {
        // An unknown account counts as a failure, so names cannot be probed for free.
        let failures = loginThrottle.recordFailure(address, now: now.nanoseconds)
        let message = unknown ? "Failed login to unknown account \(account) from \(peer)"
            : account == Nickname.adminNick ? "Failed admin login from \(peer)" : "Failed login to account \(account) from \(peer)"
        effects.append(.log(RoomLogRecord(level: .warning, event: "admin-login-failed", message: message,
                                          fields: ["chat_peer": peer, "chat_account": account,
                                                   "chat_reason": unknown ? "unknown account" : "incorrect password",
                                                   "chat_failures": "\(failures)"])))
    }

    /// The host an address counts as: itself for IPv4, its `ipv6HostPrefix` for IPv6.
    func hostRange(_ address: IPAddress) -> IPRange {
        IPRange.host(of: address, ipv6PrefixLength: configuration.ipv6HostPrefix)
    }
}
