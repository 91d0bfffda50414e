import ChatCore
import Glibc
import Logging
import Reactor

/// Where cluster messages enter and leave the Room: the Room's `ClusterEffect`s go to the
/// `ClusterLink` (Redis), and what the link hears (a line from the channel, a claim's
/// answer, the link going down or up) goes into the Room as events, whose effects are
/// applied like any other. Without `redis` none of this runs.
extension ChatServer {
    /// The node's name: configured, or the host name and the instance.
    var clusterNodeName: String {
        if let name = settings.nodeName { return name }
        var host = [UInt8](repeating: 0, count: 256)
        let named = host.withUnsafeMutableBytes { gethostname($0.baseAddress!.assumingMemoryBound(to: CChar.self), 255) } == 0
        let hostName = named ? String(decoding: host.prefix { $0 != 0 }, as: UTF8.self) : "localhost"
        return "\(hostName)-\(ProcessInfoLite.instance)"
    }

    func startCluster() {
        guard let endpoint = settings.redis else { return }
        let node = clusterNodeName
        room.joinCluster(node: node)
        let link = ClusterLink(endpoint: endpoint, node: node, room: settings.roomName, reactor: reactor)
        link.hooks = ClusterLink.Hooks(
            received: { [unowned self] message in
                room.clusterReceived(message, now: now(), effects: &effects)
                applyEffects()
            },
            split: { [unowned self] reason in
                room.clusterSplit(reason: reason, now: now(), effects: &effects)
                applyEffects()
            },
            linked: { [unowned self] claims, roster, departed, shared in
                room.clusterLinked(claims: claims, roster: roster, departed: departed, history: shared.history,
                                   state: [shared.sanctions, shared.topic].compactMap { $0 }, now: now(), effects: &effects)
                applyEffects()
                releaseHeldInput()  // a restarted node's members speak once linked (ChatServer+ClusterRestart.swift)
            },
            claimAnswered: { [unowned self] client, outcome in
                room.nickClaimed(client, outcome: outcome, now: now(), effects: &effects)
                applyEffects()
            },
            localNicknames: { [unowned self] in room.localNicknames() },
            log: { [unowned self] warning, message in
                log(warning ? .warning : .info, "cluster-redis", message, ["chat_node": node])
            })
        link.historyLimit = settings.historyLines
        link.coalesceNanoseconds = UInt64(settings.redisCoalesceMilliseconds) * 1_000_000
        cluster = link
        reactor.beforeFlush = { [unowned link] in link.flushCommands() }
        log(.info, "cluster-start", "Joining room \(settings.roomName) as node \(node) through \(endpoint)", ["chat_node": node])
        link.start()
        var ticks = 0
        supervisor.repeatEvery(nanoseconds: 250_000_000) { [weak link] in
            ticks += 1
            link?.check(renewLease: ticks % 4 == 0)
        }
    }

    /// Carries out what the Room asked of the cluster. Answers that come back at once (a
    /// claim with no link) re-enter the Room; the outer call picks up what they add.
    func applyClusterEffects() {
        guard let cluster, !drainingCluster else { return }
        drainingCluster = true
        defer { drainingCluster = false }
        while true {
            let batch = room.takeClusterEffects()
            if batch.isEmpty { return }
            for effect in batch {
                switch effect {
                case let .publish(body): cluster.publish(body)
                case let .claimNick(client, key, nick): cluster.claim(client, key: key, nick: nick)
                case let .releaseNick(key): cluster.release(key: key)
                case let .changeSanctions(change): cluster.changeSanctions(change)
                }
            }
        }
    }
}

/// The instance part of the default node name.
enum ProcessInfoLite {
    static var instance: String {
        if let value = getenv("CHATROOMD_INSTANCE"), value.pointee != 0 { return String(cString: value) }
        return "\(getpid())"
    }
}
