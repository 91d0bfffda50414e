import ChatProtocol

extension Room {
    // MARK: Matching

    func activeBan(for address: IPAddress, now: RoomTime) -> Sanction? {
        sanctions.first { sanction in
            sanction.kind == .ban && sanction.range.contains(address) && !sanction.isExpired(at: now.unixSeconds)
        }
    }

    func activeMute(for member: Member, now: RoomTime) -> Sanction? {
        sanctions.first { sanction in
            sanction.kind == .mute && !sanction.isExpired(at: now.unixSeconds)
                && (sanction.range.contains(member.address) || sanction.nick.map(nicknames.key) == nicknames.key(member.nick))
        }
    }

    // MARK: Expiry

    func expireSanctions(now: RoomTime, effects: inout [RoomEffect]) {
        let expired = sanctions.filter { $0.isExpired(at: now.unixSeconds) }
        guard !expired.isEmpty else { return }
        sanctions.removeAll { $0.isExpired(at: now.unixSeconds) }
        for sanction in expired {
            switch sanction.kind {
            case .ban: announceExpiry(Notice.banExpired(sanction.publicDescription), effects: &effects)
            case .mute: announceExpiry(Notice.muteExpired(sanction.nick ?? "\(sanction.range)"), effects: &effects)
            }
            effects.append(.log(sanctionRecord(sanction.kind == .ban ? "ban-expired" : "mute-expired", sanction, by: "expiry",
                                               message: "The \(sanction.kind.rawValue) on \(sanction.targetDescription) expired")))
        }
        effects.append(.durableStateChanged)
    }

    // MARK: Actions

    func kick(_ targetNick: String, reason: String?, by moderator: Moderator, effects: inout [RoomEffect]) -> CommandResult {
        guard let (targetID, target, targetPeer) = member(named: targetNick) else {
            if let remote = remoteMember(named: targetNick) { return kickRemote(remote, reason: reason, by: moderator, effects: &effects) }
            return refuse(moderator, Notice.noSuchMember(targetNick), effects: &effects)
        }
        guard targetID != moderator.client else { return refuse(moderator, Notice.cannotTargetYourself("kick"), effects: &effects) }
        removeMember(targetID, target)
        effects.append(.send(FrameEncoder.frame(Notice.youWereKicked(reason: reason)), to: targetID))
        effects.append(.close(targetID, reason: "kicked by \(moderator.name)" + (reason.map { ": \($0)" } ?? "")))
        broadcast(Notice.kicked(target.nick, reason: reason), effects: &effects)
        var fields = ["chat_target": target.nick, "chat_by": moderator.name, "chat_peer": targetPeer]
        if let reason { fields["chat_reason"] = reason }
        effects.append(.log(RoomLogRecord(level: .notice, event: "kick",
                                          message: "\(target.nick) was kicked by \(moderator.name)" + (reason.map { ": \($0)" } ?? ""),
                                          fields: fields)))
        if moderator.client == nil { tell(moderator, "Kicked \(target.nick).", effects: &effects) }
        return .done
    }

    /// Bans a member's address, or an address or range given directly. Everyone
    /// connected from inside the range is disconnected; `purge` also removes their lines
    /// from the history.
    func ban(_ targetText: String, seconds: Int64?, reason: String?, purge: Bool, by moderator: Moderator,
             now: RoomTime, effects: inout [RoomEffect]) -> CommandResult {
        let range: IPRange
        var nick: String? = nil
        var targetPeer: String? = nil
        if let online = member(named: targetText) {
            range = IPRange(online.1.address)
            nick = online.1.nick
            targetPeer = online.2
            if online.0 == moderator.client { return refuse(moderator, Notice.cannotTargetYourself("ban"), effects: &effects) }
            if let own = moderator.address, range.contains(own) {
                return refuse(moderator, Notice.cannotBanOwnAddress(online.1.nick), effects: &effects)
            }
        } else if let parsed = IPRange(parsing: targetText) {
            range = parsed
            if let own = moderator.address, range.contains(own) {
                return refuse(moderator, Notice.cannotBanOwnRange(range), effects: &effects)
            }
        } else {
            return refuse(moderator, Notice.noSuchTarget(targetText), effects: &effects)
        }
        sanctions.removeAll { $0.kind == .ban && $0.range == range }
        let sanction = Sanction(kind: .ban, range: range, nick: nick, reason: reason, setBy: moderator.name,
                                setAt: now.unixSeconds, expiresAt: seconds.map { Self.expiry(now.unixSeconds, plus: $0) })
        sanctions.append(sanction)
        effects.append(.durableStateChanged)
        shareSanctionChange(SanctionChange(add: [sanction], purge: purge ? range : nil))

        var removedNicks: [String] = []
        for id in memberOrder where id != moderator.client {
            guard case let .member(victim, _)? = clients[id], range.contains(victim.address) else { continue }
            removedNicks.append(victim.nick)
        }
        for victimNick in removedNicks {
            guard let (id, victim, _) = member(named: victimNick) else { continue }
            removeMember(id, victim)
            effects.append(.send(FrameEncoder.frame(Notice.youWereBanned(seconds: seconds, reason: reason)), to: id))
            effects.append(.close(id, reason: "banned by \(moderator.name)" + (reason.map { ": \($0)" } ?? "")))
            broadcast(Notice.banned(victim.nick, seconds: seconds, reason: reason), effects: &effects)
        }
        let greeters = clients.compactMap { id, state -> ClientID? in
            guard case let .greeting(address, _, _) = state, range.contains(address) else { return nil }
            return id
        }
        for id in greeters.sorted(by: { $0.rawValue < $1.rawValue }) {
            clients[id] = nil
            noteChanged(id)
            effects.append(.send(FrameEncoder.frame(Notice.addressBanned), to: id))
            effects.append(.close(id, reason: "address banned"))
        }
        var purged = 0
        if purge { purged = history.purge(range) }
        var record = sanctionRecord("ban", sanction, by: moderator.name,
                                    message: "\(sanction.targetDescription) was banned by \(moderator.name)"
                                        + (seconds.map { " for \(SanctionDuration.format(seconds: $0))" } ?? "")
                                        + (reason.map { ": \($0)" } ?? ""))
        if purge { record = record.adding(["chat_purged": "\(purged)"]) }
        if let targetPeer { record = record.adding(["chat_peer": targetPeer]) }
        effects.append(.log(record))
        if moderator.client == nil || removedNicks.isEmpty {
            tell(moderator, "Banned \(sanction.targetDescription)" + (seconds.map { " for \(SanctionDuration.format(seconds: $0))" } ?? "")
                 + (removedNicks.isEmpty ? "." : "; disconnected \(removedNicks.joined(separator: ", ")).")
                 + (purge ? " Purged \(purged) history line(s)." : ""), effects: &effects)
        }
        return .done
    }

    func unban(_ targetText: String, by moderator: Moderator, effects: inout [RoomEffect]) -> CommandResult {
        let lifted: [Sanction]
        if let range = IPRange(parsing: targetText) {
            lifted = sanctions.filter { $0.kind == .ban && ($0.range == range || (range.isSingleAddress && $0.range.contains(range.network))) }
        } else {
            lifted = sanctions.filter { $0.kind == .ban && $0.nick.map(nicknames.key) == nicknames.key(targetText) }
        }
        guard !lifted.isEmpty else { return refuse(moderator, Notice.noBanMatches(targetText), effects: &effects) }
        sanctions.removeAll { candidate in lifted.contains(candidate) }
        for sanction in lifted {
            broadcast(Notice.banLifted(sanction.publicDescription, by: moderator.name), effects: &effects)
            effects.append(.log(sanctionRecord("unban", sanction, by: moderator.name,
                                               message: "The ban on \(sanction.targetDescription) was lifted by \(moderator.name)")))
        }
        effects.append(.durableStateChanged)
        shareSanctionChange(SanctionChange(remove: lifted.map(\.target)))
        if moderator.client == nil || memberOrder.isEmpty {
            tell(moderator, "Lifted \(lifted.count) ban(s).", effects: &effects)
        }
        return .done
    }

    func mute(_ targetNick: String, seconds: Int64?, reason: String?, by moderator: Moderator, now: RoomTime,
              effects: inout [RoomEffect]) -> CommandResult {
        guard let (targetID, target, _) = member(named: targetNick) else {
            return refuse(moderator, Notice.noSuchMember(targetNick), effects: &effects)
        }
        guard targetID != moderator.client else { return refuse(moderator, Notice.cannotTargetYourself("mute"), effects: &effects) }
        // A mute holds the target's address: on the moderator's own address it would mute them too.
        if let own = moderator.address, IPRange(target.address).contains(own) {
            return refuse(moderator, Notice.cannotMuteOwnAddress(target.nick), effects: &effects)
        }
        let replaced = sanctions.filter { $0.kind == .mute && ($0.range.contains(target.address) || $0.nick.map(nicknames.key) == nicknames.key(target.nick)) }
        sanctions.removeAll { replaced.contains($0) }
        let sanction = Sanction(kind: .mute, range: IPRange(target.address), nick: target.nick, reason: reason,
                                setBy: moderator.name, setAt: now.unixSeconds, expiresAt: seconds.map { Self.expiry(now.unixSeconds, plus: $0) })
        sanctions.append(sanction)
        effects.append(.durableStateChanged)
        shareSanctionChange(SanctionChange(remove: replaced.map(\.target), add: [sanction]))
        effects.append(.send(FrameEncoder.frame(Notice.youWereMuted(seconds: seconds, reason: reason)), to: targetID))
        let others = memberOrder.filter { $0 != targetID }
        if !others.isEmpty {
            effects.append(.broadcast(FrameEncoder.frame(Notice.muted(target.nick, seconds: seconds, reason: reason)), to: others))
        }
        effects.append(.log(sanctionRecord("mute", sanction, by: moderator.name,
                                           message: "\(target.nick) was muted by \(moderator.name)"
                                               + (seconds.map { " for \(SanctionDuration.format(seconds: $0))" } ?? "")
                                               + (reason.map { ": \($0)" } ?? ""))))
        if moderator.client == nil { tell(moderator, "Muted \(target.nick).", effects: &effects) }
        return .done
    }

    func unmute(_ targetNick: String, by moderator: Moderator, effects: inout [RoomEffect]) -> CommandResult {
        let online = member(named: targetNick)
        let lifted = sanctions.filter { sanction in
            sanction.kind == .mute && (sanction.nick.map(nicknames.key) == nicknames.key(targetNick)
                                       || (online.map { sanction.range.contains($0.1.address) } ?? false))
        }
        guard !lifted.isEmpty else { return refuse(moderator, Notice.notMuted(targetNick), effects: &effects) }
        sanctions.removeAll { candidate in lifted.contains(candidate) }
        let nick = online?.1.nick ?? targetNick
        broadcast(Notice.unmuted(nick, by: moderator.name), effects: &effects)
        for sanction in lifted {
            effects.append(.log(sanctionRecord("unmute", sanction, by: moderator.name, message: "\(nick) was unmuted by \(moderator.name)")))
        }
        effects.append(.durableStateChanged)
        shareSanctionChange(SanctionChange(remove: lifted.map(\.target)))
        if moderator.client == nil { tell(moderator, "Unmuted \(nick).", effects: &effects) }
        return .done
    }

    func setSlowmode(_ seconds: Int?, by moderator: Moderator, effects: inout [RoomEffect]) -> CommandResult {
        slowmodeSeconds = seconds
        shareSanctionChange(.slowmode(seconds))
        broadcast(seconds.map(Notice.slowmodeOn) ?? Notice.slowmodeOff, effects: &effects)
        effects.append(.log(RoomLogRecord(level: .notice, event: "slowmode",
                                          message: seconds.map { "Slowmode set to \($0) s by \(moderator.name)" } ?? "Slowmode turned off by \(moderator.name)",
                                          fields: ["chat_by": moderator.name, "chat_duration": seconds.map(String.init) ?? "off"])))
        if moderator.client == nil || memberOrder.isEmpty {
            tell(moderator, seconds.map { "Slowmode is on (\($0) s)." } ?? "Slowmode is off.", effects: &effects)
        }
        return .done
    }

    /// One line per sanction, for `/bans` and `chatroomctl bans`.
    func sanctionLines(now: RoomTime) -> [String] {
        let active = sanctions.filter { !$0.isExpired(at: now.unixSeconds) }
        if active.isEmpty { return ["No active bans or mutes."] }
        var lines: [String] = []
        for kind in [Sanction.Kind.ban, .mute] {
            let list = active.filter { $0.kind == kind }
            guard !list.isEmpty else { continue }
            lines.append("\(kind == .ban ? "Bans" : "Mutes") (\(list.count)):")
            for sanction in list {
                let left = sanction.secondsLeft(at: now).map { "\(SanctionDuration.format(seconds: $0)) left" } ?? "permanent"
                lines.append("  \(sanction.targetDescription) by \(sanction.setBy), \(left)" + (sanction.reason.map { ": \($0)" } ?? ""))
            }
        }
        return lines
    }

    /// `now + seconds`, saturating: a huge typed duration must not trap.
    static func expiry(_ now: Int64, plus seconds: Int64) -> Int64 {
        let (sum, overflow) = now.addingReportingOverflow(seconds)
        return overflow ? Int64.max : sum
    }

    func sanctionRecord(_ event: String, _ sanction: Sanction, by actor: String, message: String) -> RoomLogRecord {
        var fields = ["chat_by": actor, "chat_address": "\(sanction.range)", "chat_kind": sanction.kind.rawValue]
        if let nick = sanction.nick { fields["chat_target"] = nick } else { fields["chat_target"] = "\(sanction.range)" }
        if let reason = sanction.reason { fields["chat_reason"] = reason }
        if let expiresAt = sanction.expiresAt {
            fields["chat_expires"] = "\(expiresAt)"
            fields["chat_duration"] = "\(sanction.durationSeconds ?? 0)"
        } else {
            fields["chat_duration"] = "permanent"
        }
        return RoomLogRecord(level: .notice, event: event, message: message, fields: fields)
    }
}

extension RoomLogRecord {
    func adding(_ extra: [String: String]) -> RoomLogRecord {
        RoomLogRecord(level: level, event: event, message: message, fields: fields.merging(extra) { $1 })
    }
}

extension Room {
    /// Slowmode changed by the configuration (a reload), announced like `/slowmode`.
    public func applySlowmode(_ seconds: Int?, by actor: String, effects: inout [RoomEffect]) {
        guard seconds != slowmodeSeconds else { return }
        slowmodeSeconds = seconds
        shareSanctionChange(.slowmode(seconds))
        broadcast(seconds.map(Notice.slowmodeOn) ?? Notice.slowmodeOff, effects: &effects)
        effects.append(.log(RoomLogRecord(level: .notice, event: "slowmode",
                                          message: seconds.map { "Slowmode set to \($0) s by \(actor)" } ?? "Slowmode turned off by \(actor)",
                                          fields: ["chat_by": actor, "chat_duration": seconds.map(String.init) ?? "off"])))
    }
}
