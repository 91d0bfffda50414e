import ChatCore
import Logging

extension ChatServer {
    /// SIGHUP or `chatroomctl reload`: applies the configuration all or nothing, without
    /// dropping anyone.
    @discardableResult
    func reload() -> ControlOutcome {
        supervisor.reloading()
        defer { supervisor.reloaded() }
        let plan: Reloader.Plan
        do {
            plan = try reloader.plan(running: settings, runningAccounts: room.configuration.accounts)
        } catch {
            let text = "reload failed, keeping the running configuration: \(error.message)"
            log(.error, "reload-failed", text, ["chat_reason": error.message])
            return ControlOutcome(succeeded: false, lines: [text])
        }
        if let problem = reloadTLS(plan.settings) {
            let text = "reload failed, keeping the running configuration: \(problem)"
            log(.error, "reload-failed", text, ["chat_reason": problem])
            return ControlOutcome(succeeded: false, lines: [text])
        }
        let slowmodeChanged = plan.settings.slowmode != settings.slowmode
        settings = plan.settings
        var configuration = settings.roomConfiguration(accounts: plan.accounts, decoy: decoyVerifier)
        // /slowmode set at run time stays unless the configuration's value changed.
        if !slowmodeChanged { configuration.slowmodeSeconds = room.slowmodeSeconds }
        room.reconfigure(configuration, now: now(), effects: &effects)
        if slowmodeChanged { room.applySlowmode(settings.slowmode, by: "configuration", effects: &effects) }
        connections.limits.maximumTotal = settings.maxConnections
        connections.limits.maximumPerAddress = settings.maxConnectionsPerAddress
        connections.limits.acceptsPerSecond = settings.acceptsPerAddressPerSecond
        if let level = Logger.Level(rawValue: settings.logLevel) { logger.logLevel = level }
        applyEffects()
        for key in plan.needRestart {
            logger.warning("configuration key '\(key)' changed but only takes effect after a restart")
        }
        log(.notice, "reload", plan.changeSummary, ["chat_changed": plan.changed.joined(separator: ","),
                                              "chat_needs_restart": plan.needRestart.joined(separator: ",")])
        return ControlOutcome(succeeded: true, lines: [plan.reply])
    }
}
