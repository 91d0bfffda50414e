import Bytes
import ChatProtocol

/// A member's lines: flood control for every frame, then mute and slowmode, then one
/// encoding shared by every recipient.
extension Room {
    /// Flood control for every frame a non-admin member sends. Returns false if the frame
    /// is refused (with a notice) or the member was disconnected for flooding.
    func admitUnderFloodControl(_ client: ClientID, _ member: inout Member, peer: String, now: RoomTime,
                                        effects: inout [RoomEffect]) -> Bool {
        if member.bucket.take(rate: configuration.floodRate, burst: configuration.floodBurst, now: now.nanoseconds) {
            member.floodStrikes = 0
            clients[client] = .member(member, peer: peer)
            return true
        }
        member.floodStrikes += 1
        if member.floodStrikes >= configuration.floodDisconnectAfter {
            removeMember(client, member)
            effects.append(.send(FrameEncoder.frame(Notice.disconnectedForFlooding), to: client))
            effects.append(.close(client, reason: "flooding"))
            broadcast(Notice.floodedOut(member.nick), effects: &effects)
            effects.append(.log(RoomLogRecord(level: .notice, event: "flood-disconnect",
                                              message: "\(member.nick) was disconnected for flooding",
                                              fields: ["chat_nick": member.nick, "chat_peer": peer, "chat_reason": "flooding"])))
            return false
        }
        clients[client] = .member(member, peer: peer)
        reply(Notice.tooFast, to: client, effects: &effects)
        return false
    }

    /// Chat or `/me`, after mute and slowmode. Encoded once straight from the member's
    /// prefix and the received bytes, shared by every member's queue.
    func speak(_ text: UnsafeRawBufferPointer, from client: ClientID, _ member: inout Member, peer: String,
               asAction: Bool, now: RoomTime, effects: inout [RoomEffect]) {
        guard !text.isEmpty else { return }
        if let mute = activeMute(for: member, now: now) {
            return reply(Notice.youAreMuted(secondsLeft: mute.secondsLeft(at: now)), to: client, effects: &effects)
        }
        if let slowmode = slowmodeSeconds, !member.isAdmin, let last = member.lastMessageAt {
            let next = last + UInt64(slowmode) * 1_000_000_000
            if now.nanoseconds < next {
                let wait = Int64((next - now.nanoseconds + 999_999_999) / 1_000_000_000)
                return reply(Notice.slowmodeWait(wait), to: client, effects: &effects)
            }
        }
        member.lastMessageAt = now.nanoseconds
        clients[client] = .member(member, peer: peer)

        if cluster != nil {
            let line = asAction ? Notice.action(member.nick, String(decoding: text, as: UTF8.self))
                                : ServerReply.chatLine(member.nick, String(decoding: text, as: UTF8.self))
            // Shown here when it comes back from the channel, in the channel's order.
            if publishOrBroadcast(line, kept: true, from: member.address, effects: &effects) { return }
        }
        let frame: SharedBytes
        if asAction {
            frame = FrameEncoder.frame(Notice.action(member.nick, String(decoding: text, as: UTF8.self)))
        } else {
            let prefixCount = member.chatPrefix.count
            let prefix = member.chatPrefix
            frame = FrameEncoder.frame(payloadLength: prefixCount + text.count) { payload in
                prefix.withUnsafeBytes { payload.copyMemory(from: $0) }
                UnsafeMutableRawBufferPointer(rebasing: payload[prefixCount...]).copyMemory(from: text)
            }
        }
        effects.append(.broadcast(frame, to: memberOrder))
        relayedMessageCount &+= 1
        if history.limit > 0 || configuration.logMessageBodies {
            let line = asAction ? Notice.action(member.nick, String(decoding: text, as: UTF8.self))
                                : ServerReply.chatLine(member.nick, String(decoding: text, as: UTF8.self))
            history.append(History.Entry(unixSeconds: now.unixSeconds, text: line, address: member.address))
            if configuration.logMessageBodies {
                effects.append(.log(RoomLogRecord(level: .debug, event: "message", message: line,
                                                  fields: ["chat_nick": member.nick, "chat_peer": peer])))
            }
        }
    }

    /// The daemon's loop did not read for `nanoseconds` (a stall of the machine or of the
    /// loop). Lines members sent meanwhile arrive together; each member may send what the
    /// rate allowed during the stall, over the burst, so nobody is refused or disconnected
    /// for the server's pause.
    public func loopStalled(nanoseconds: UInt64) {
        guard configuration.floodRate > 0 else { return }
        let extra = Double(nanoseconds) / 1e9 * configuration.floodRate
        for client in memberOrder {
            guard case .member(var member, let peer)? = clients[client] else { continue }
            member.bucket.grant(extra)
            clients[client] = .member(member, peer: peer)
        }
    }
}
