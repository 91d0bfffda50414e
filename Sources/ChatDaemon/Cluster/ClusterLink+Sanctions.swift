import ChatCore
import SystemCalls

/// Sanction changes over Redis: each `SanctionChange` the Room emits runs
/// `ClusterScripts.changeSanctions`, which publishes the resulting whole list as this
/// node's next message (it comes back to every node, this one included, as `.sanctions`).
extension ClusterLink {
    func changeSanctions(_ change: SanctionChange) {
        var arguments: [String] = ["\(WallClock.now() / 1_000_000_000)", change.onlyIfNone ? "n" : "",
                                   change.setsSlowmode ? "s" : "", change.slowmode.map(String.init) ?? ""]
        if let purge = change.purge {
            arguments += ["\(purge)", purge.network.hex, "\(purge.prefixLength)"]
        } else {
            arguments += ["", "", ""]
        }
        arguments.append("\(change.remove.count)")
        for target in change.remove { arguments += [target.kind.rawValue, "\(target.range)"] }
        for sanction in change.add {
            arguments += [sanction.kind.rawValue, "\(sanction.range)", sanction.nick ?? "", sanction.reason ?? "", sanction.setBy,
                          String(sanction.setAt), sanction.expiresAt.map(String.init) ?? ""]
        }
        publishScripted(ClusterScripts.changeSanctions, keys: [prefix + "sanctions", prefix + "history"],
                        arguments: arguments.map { Array($0.utf8) })
    }
}

/// An entry of Redis' history list: `SECONDS/HEXADDRESS TEXT`, the speaker's address in
/// hex so that `/ban --purge` can find its lines there (`SECONDS TEXT`, without a speaker,
/// as older nodes wrote it, is still read).
extension ClusterLink {
    static func historyEntry(_ text: String, from speaker: IPAddress?) -> String {
        let seconds = WallClock.now() / 1_000_000_000
        return speaker.map { "\(seconds)/\($0.hex) \(text)" } ?? "\(seconds) \(text)"
    }

    static func historyEntry(parsing line: String) -> History.Entry? {
        guard let space = line.firstIndex(of: " ") else { return nil }
        let head = line[..<space].split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let seconds = Int64(head[0]) else { return nil }
        let address = head.count == 2 ? IPAddress(hex: head[1]) : nil
        return History.Entry(unixSeconds: seconds, text: String(line[line.index(after: space)...]), address: address ?? .v6(0, 0))
    }
}
