import ChatCore
import Logging
import NicknameProfile

/// SIGHUP or `chatroomctl reload`: reads the configuration again and plans the change all
/// or nothing. The plan keeps the running values of keys only a restart can change (the
/// option table says which) and names what changed; `ChatServer` applies it.
struct Reloader {
    let resolve: () throws(Settings.Invalid) -> Settings
    let environment: [String: String]

    struct Plan {
        /// What runs after the reload: the new settings, restart-only keys as they were.
        let settings: Settings
        let accounts: [String: any PasswordVerifier]
        /// Keys applied now, and keys that changed but wait for a restart.
        let changed: [String]
        let needRestart: [String]

        /// For the log, whose fields name the keys waiting for a restart.
        var changeSummary: String {
            changed.isEmpty ? "configuration reloaded; nothing changed" : "configuration reloaded; changed: \(changed.joined(separator: ", "))"
        }

        /// For the operator who asked.
        var reply: String {
            changeSummary + (needRestart.isEmpty ? "" : " (after a restart: \(needRestart.joined(separator: ", ")))")
        }
    }

    func plan(running: Settings, runningAccounts: [String: any PasswordVerifier]) throws(Settings.Invalid) -> Plan {
        let next = try resolve()
        let accounts = try next.accounts(environment: environment)
        var changed = next.changedKeys(from: running)
        // A hash read from a file or credential can change while the settings do not.
        let fingerprints = { (accounts: [String: any PasswordVerifier]) in accounts.mapValues(\.fingerprint) }
        if !changed.contains("admin"), fingerprints(accounts) != fingerprints(runningAccounts) {
            changed.append("admin")
        }
        let needRestart = changed.filter { key in Settings.option(key).map { !$0.reloadable } ?? false }
        return Plan(settings: next.keepingRestartOnlyKeys(of: running), accounts: accounts,
                    changed: changed.filter { !needRestart.contains($0) }, needRestart: needRestart)
    }
}

extension Settings {
    /// The Room's part of the settings.
    func roomConfiguration(accounts: [String: any PasswordVerifier], decoy: (any PasswordVerifier)?) -> Room.Configuration {
        var configuration = Room.Configuration(accounts: accounts,
                           logMessageBodies: Logger.Level(rawValue: logLevel).map { $0 <= .debug } ?? false,
                           historyLimit: historyLines,
                           floodRate: floodRate, floodBurst: Double(floodBurst),
                           floodDisconnectAfter: floodDisconnectAfter,
                           handshakeTimeoutSeconds: handshakeTimeout,
                           slowmodeSeconds: slowmode,
                           maximumLineBytes: maxFrameBytes,
                           joinsPerAddressPerMinute: joinsPerAddressPerMinute, ipv6HostPrefix: ipv6HostPrefix,
                           presenceRate: presenceRate, presenceBurst: presenceBurst, decoyVerifier: decoy,
                           passwordChecksPerAddress: passwordChecksPerAddress, passwordChecksInFlight: passwordChecksInFlight,
                           nicknameRules: NicknameProfile.standard)
        configuration.requireSecureLogin = requireTLSForLogin
        return configuration
    }
}
