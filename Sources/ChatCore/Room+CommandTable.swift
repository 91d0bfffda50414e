import ChatProtocol

extension Room {
    /// Every slash command, in the order `/help` lists them. Adding a command means adding
    /// an entry here and its handler; the help, the usage errors, the admin-only check and
    /// `chatroomctl`'s permission follow from the entry.
    public static let commands: [RoomCommand] = [
        RoomCommand(name: "help", access: .everyone, operatorMayUse: false, arguments: "", summary: "this list") { room, call, effects in
            room.help(call, &effects)
        },
        RoomCommand(name: "who", access: .everyone, operatorMayUse: false, arguments: "", summary: "who is here ([admin], [muted] marked)") { room, call, effects in
            room.tell(call.moderator, room.whoLine(now: call.now), effects: &effects)
            return .done
        },
        RoomCommand(name: "msg", access: .everyone, operatorMayUse: false, arguments: "<nick> <text>", summary: "a private message") { room, call, effects in
            room.privateMessage(call, &effects)
        },
        RoomCommand(name: "me", access: .everyone, operatorMayUse: false, arguments: "<action>", summary: "* you do something") { room, call, effects in
            room.action(call, &effects)
        },
        RoomCommand(name: "nick", access: .everyone, operatorMayUse: false, arguments: "<new>", summary: "change your nickname") { room, call, effects in
            room.changeNick(call, &effects)
        },
        RoomCommand(name: "login", access: .everyone, operatorMayUse: false, arguments: "<account> <password>", summary: "become an admin") { room, call, effects in
            room.login(call, &effects)
        },
        RoomCommand(name: "limits", access: .everyone, operatorMayUse: false, arguments: "", summary: "how long and how fast your lines may be") { room, call, effects in
            room.tell(call.moderator, room.configuration.limits.text, effects: &effects)
            return .done
        },
        RoomCommand(name: "topic", access: .everyone, operatorMayUse: true, arguments: "[<text>|--clear]", summary: "show the topic; admins set or clear it") { room, call, effects in
            room.topicCommand(call, &effects)
        },
        RoomCommand(name: "kick", access: .admin, operatorMayUse: true, arguments: "<nick> [reason]", summary: "disconnect a member") { room, call, effects in
            room.kickCommand(call, &effects)
        },
        RoomCommand(name: "ban", access: .admin, operatorMayUse: true, arguments: "<nick|address|cidr> [duration] [--purge] [reason]",
                    summary: "ban and disconnect; durations 30s 10m 2h 7d, none = permanent") { room, call, effects in
            room.banCommand(call, &effects)
        },
        RoomCommand(name: "unban", access: .admin, operatorMayUse: true, arguments: "<address|cidr|nick>", summary: "lift a ban") { room, call, effects in
            room.unbanCommand(call, &effects)
        },
        RoomCommand(name: "bans", access: .admin, operatorMayUse: true, arguments: "", summary: "bans and mutes with time left") { room, call, effects in
            for line in room.sanctionLines(now: call.now) { room.tell(call.moderator, line, effects: &effects) }
            return .done
        },
        RoomCommand(name: "mute", access: .admin, operatorMayUse: true, arguments: "<nick> [duration] [reason]", summary: "silence a member") { room, call, effects in
            room.muteCommand(call, &effects)
        },
        RoomCommand(name: "unmute", access: .admin, operatorMayUse: true, arguments: "<nick>", summary: "lift a mute") { room, call, effects in
            room.unmuteCommand(call, &effects)
        },
        RoomCommand(name: "slowmode", access: .admin, operatorMayUse: true, arguments: "<seconds|off>", summary: "one message per member per interval") { room, call, effects in
            room.slowmodeCommand(call, &effects)
        },
        RoomCommand(name: "say", access: .admin, operatorMayUse: true, arguments: "<text>", summary: "a server notice to the room") { room, call, effects in
            room.say(call, &effects)
        },
    ]

    public static func command(named name: String) -> RoomCommand? { commands.first { $0.name == name } }

    /// The commands `chatroomctl` may run, by name.
    public static var operatorCommands: [RoomCommand] { commands.filter(\.operatorMayUse) }

    /// `/help`: every member's commands, then the admin's to admins.
    static func helpLines(forAdmin isAdmin: Bool) -> [String] {
        func line(_ usage: String, _ summary: String) -> String {
            let padded = usage.count < 26 ? usage + String(repeating: " ", count: 26 - usage.count) : usage + "   "
            return "  " + padded + summary
        }
        var lines = ["Commands:"]
        lines += commands.filter { $0.access == .everyone }.map { line($0.usage, $0.summary) }
        lines.append(line(ClientRequest.disconnectText, "leave"))
        if isAdmin {
            lines.append("Admin commands:")
            lines += commands.filter { $0.access == .admin }.map { line($0.usage, $0.summary) }
        }
        return lines
    }

    private func help(_ call: CommandCall, _ effects: inout [RoomEffect]) -> CommandResult {
        for line in Self.helpLines(forAdmin: call.speaker?.member.isAdmin ?? true) { tell(call.moderator, line, effects: &effects) }
        return .done
    }

    /// A `/command` from a member.
    func runMemberCommand(_ name: String, arguments: String, from client: ClientID, _ member: Member, peer: String,
                          now: RoomTime, effects: inout [RoomEffect]) {
        guard let command = Self.command(named: name) else {
            return reply(Notice.unknownCommand(name), to: client, effects: &effects)
        }
        if command.access == .admin && !member.isAdmin { return reply(Notice.adminOnly(name), to: client, effects: &effects) }
        let moderator = Moderator(name: member.nick, client: client, address: member.address)
        let call = CommandCall(command: command, arguments: arguments, moderator: moderator,
                               speaker: (client, member, peer), now: now)
        _ = command.run(self, call, &effects)
    }

    /// A command from the local operator (`chatroomctl`): the same rules and audit trail as
    /// an admin's, with the actor `chatroomctl:<user>`; what the operator is told comes back
    /// in the outcome instead of as frames.
    public func control(_ name: String, arguments: String, actor: String, now: RoomTime,
                        effects: inout [RoomEffect]) -> ControlOutcome {
        guard let command = Self.command(named: name), command.operatorMayUse else {
            let names = Self.operatorCommands.map(\.name).joined(separator: ", ")
            return ControlOutcome(succeeded: false, lines: ["Unknown command \(name); the operator's commands: \(names)."])
        }
        operatorLines.removeAll()
        let call = CommandCall(command: command, arguments: arguments, moderator: Moderator(name: actor, client: nil, address: nil),
                               speaker: nil, now: now)
        let result = command.run(self, call, &effects)
        defer { operatorLines.removeAll() }
        return ControlOutcome(succeeded: result == .done, lines: operatorLines)
    }

    /// Tells whoever runs a command: a frame to the member, a line for the operator.
    func tell(_ moderator: Moderator, _ text: String, effects: inout [RoomEffect]) {
        if let client = moderator.client { reply(text, to: client, effects: &effects) } else { operatorLines.append(text) }
    }

    /// Tells why a command was not carried out.
    func refuse(_ moderator: Moderator, _ text: String, effects: inout [RoomEffect]) -> CommandResult {
        tell(moderator, text, effects: &effects)
        return .refused
    }

    func usageError(_ call: CommandCall, _ effects: inout [RoomEffect], note: String = "") -> CommandResult {
        refuse(call.moderator, Notice.usage(call.command.usage + note), effects: &effects)
    }
}
