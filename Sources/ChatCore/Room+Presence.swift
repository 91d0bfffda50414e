import ChatProtocol

/// Join and leave notices, which one address could otherwise turn into a flood for
/// everyone by connecting and leaving in a loop:
/// - joins are limited per address (`joinsPerAddressPerMinute`);
/// - a muted member's comings and goings are not announced;
/// - past `presenceRate` notices a second (bursts of `presenceBurst`) the room hears one
///   summary line a tick instead ("12 members joined: ...").
/// A joiner always receives its own join line, so clients that wait for it still work.
struct Presence {
    var bucket: TokenBucket
    var joined: [String] = []
    var left: [String] = []
    /// Joins per host (IPv4 address, IPv6 prefix), for the per-address limit.
    var joinsByHost: [IPRange: TokenBucket] = [:]

    /// Names shown in one summary line; the rest are counted.
    static let namesPerSummary = 10
}

extension Room {
    /// Whether `address` may join now; takes one of its joins if so, else says how many
    /// seconds until it may.
    func admitJoin(from address: IPAddress, now: RoomTime) -> Int64? {
        let perMinute = configuration.joinsPerAddressPerMinute
        guard perMinute > 0 else { return nil }
        let host = hostRange(address)
        let rate = Double(perMinute) / 60
        var bucket = presence.joinsByHost[host] ?? TokenBucket(burst: Double(perMinute), now: now.nanoseconds)
        defer { presence.joinsByHost[host] = bucket }
        if bucket.take(rate: rate, burst: Double(perMinute), now: now.nanoseconds) { return nil }
        return Int64(((1 - bucket.tokens) / rate).rounded(.up))
    }

    func announceJoin(_ member: Member, client: ClientID, now: RoomTime, effects: inout [RoomEffect]) {
        let text = member.isAdmin ? Notice.adminJoined : Notice.joined(member.nick)
        if activeMute(for: member, now: now) != nil { return reply(text, to: client, effects: &effects) }
        // An admin's join is anonymous and rare (logins are throttled): never summed up.
        if member.isAdmin || admitPresenceNotice(now: now) { return broadcast(text, effects: &effects) }
        presence.joined.append(member.nick)
        reply(text, to: client, effects: &effects)
    }

    func announceLeave(_ member: Member, now: RoomTime, effects: inout [RoomEffect]) {
        guard activeMute(for: member, now: now) == nil else { return }
        guard admitPresenceNotice(now: now) else { return presence.left.append(member.nick) }
        broadcast(Notice.left(member.nick), effects: &effects)
    }

    /// Once a tick: the notices held back since the last one, as one line.
    func flushPresence(now: RoomTime, effects: inout [RoomEffect]) {
        // A host whose joins have all come back is forgotten, so the table stays small.
        let perMinute = Double(configuration.joinsPerAddressPerMinute)
        presence.joinsByHost = presence.joinsByHost.filter { !$0.value.isFull(rate: perMinute / 60, burst: perMinute, now: now.nanoseconds) }
        guard !presence.joined.isEmpty || !presence.left.isEmpty else { return }
        var parts: [String] = []
        if !presence.joined.isEmpty { parts.append(Self.summary(presence.joined, verb: "joined")) }
        if !presence.left.isEmpty { parts.append(Self.summary(presence.left, verb: "left")) }
        presence.joined.removeAll()
        presence.left.removeAll()
        broadcast(parts.joined(separator: "; ") + ".", effects: &effects)
    }

    /// `3 members joined: ann, bob, cy` or `25 members left: a, b, ... and 15 more`.
    static func summary(_ nicks: [String], verb: String) -> String {
        let shown = nicks.prefix(Presence.namesPerSummary).joined(separator: ", ")
        let more = nicks.count > Presence.namesPerSummary ? " and \(nicks.count - Presence.namesPerSummary) more" : ""
        return "\(nicks.count) member\(nicks.count == 1 ? "" : "s") \(verb): \(shown)\(more)"
    }

    private func admitPresenceNotice(now: RoomTime) -> Bool {
        guard configuration.presenceRate > 0 else { return true }
        // Held notices go out in order: once one is held, the rest wait for the summary.
        guard presence.joined.isEmpty && presence.left.isEmpty else { return false }
        return presence.bucket.take(rate: configuration.presenceRate, burst: Double(configuration.presenceBurst), now: now.nanoseconds)
    }
}
