import Bytes
import ChatCore
import Testing

/// The Room as one node of a cluster: its lines and notices go out as `ClusterEffect`s and
/// reach its members only when they come back through `clusterReceived`; joins wait for
/// their nickname claim; a split sends lines straight to local members again.
@Suite("Room: one node of a cluster")
struct RoomClusterTests {
    /// The texts of the effects, in order: `send TEXT to ID` or `broadcast TEXT to IDs`.
    static func texts(_ effects: [RoomEffect]) -> [String] {
        effects.compactMap { effect in
            switch effect {
            case let .send(frame, to: client): return "send \(String(decoding: frame.array.dropFirst(64), as: UTF8.self)) to \(client.rawValue)"
            case let .broadcast(frame, to: clients):
                return "broadcast \(String(decoding: frame.array.dropFirst(64), as: UTF8.self)) to \(clients.map(\.rawValue).sorted())"
            case let .close(client, _): return "close \(client.rawValue)"
            default: return nil
            }
        }
    }

    static func linked() -> RoomDriver {
        let driver = RoomDriver(configuration: RoomDriver.configuration(), now: RoomDriver.wallStart)
        driver.room.joinCluster(node: "n1")
        var effects: [RoomEffect] = []
        driver.room.clusterLinked(claims: [:], roster: [(nick: "zed", node: "n2")], departed: [], now: driver.now, effects: &effects)
        #expect(texts(effects).isEmpty, "no member to tell")
        return driver
    }

    /// Joins `label` and grants its claim; returns the cluster effects of the join.
    static func admit(_ driver: RoomDriver, _ label: String) -> [ClusterEffect] {
        #expect(driver.join(label).isEmpty, "nothing happens before the claim is answered")
        let id = driver.id(label)
        #expect(driver.room.takeClusterEffects() == [.claimNick(id, key: label, nick: label)])
        var effects: [RoomEffect] = []
        driver.room.nickClaimed(id, outcome: .granted, now: driver.now, effects: &effects)
        #expect(texts(effects) == ["send Connected to the server to \(id.rawValue)"])
        return driver.room.takeClusterEffects()
    }

    @Test func aJoinIsClaimedThenAnnouncedThroughTheChannel() {
        let driver = Self.linked()
        #expect(Self.admit(driver, "alice") == [.publish(.joined(nick: "alice")), .publish(.line("alice has joined the chat!", kept: false))])
        var effects: [RoomEffect] = []
        driver.room.clusterReceived(ClusterMessage(node: "n1", sequence: 2, body: .line("alice has joined the chat!", kept: false)),
                                    now: driver.now, effects: &effects)
        #expect(Self.texts(effects) == ["broadcast alice has joined the chat! to [\(driver.id("alice").rawValue)]"])
    }

    @Test func aTakenNicknameIsRefused() {
        let driver = Self.linked()
        driver.join("bob")
        _ = driver.room.takeClusterEffects()
        var effects: [RoomEffect] = []
        driver.room.nickClaimed(driver.id("bob"), outcome: .taken, now: driver.now, effects: &effects)
        let id = driver.id("bob").rawValue
        #expect(Self.texts(effects) == ["send The nickname bob is already in use. Choose another one. to \(id)", "close \(id)"])
        #expect(driver.room.memberCount == 0)
    }

    @Test func aLineIsPublishedAndShownWhenItComesBack_onceAndIntoTheHistory() {
        let driver = Self.linked()
        _ = Self.admit(driver, "alice")
        #expect(driver.receive("alice", "hello").isEmpty, "not shown before it comes back")
        #expect(driver.room.takeClusterEffects() == [.publish(.line("alice: hello", kept: true, from: driver.address("alice")))])
        var effects: [RoomEffect] = []
        driver.room.clusterReceived(ClusterMessage(node: "n1", sequence: 3, body: .line("alice: hello", kept: true)),
                                    now: driver.now, effects: &effects)
        #expect(Self.texts(effects) == ["broadcast alice: hello to [\(driver.id("alice").rawValue)]"])
        #expect(driver.room.history.count == 1)
    }

    @Test func whoMsgAndKickSeeOtherNodesMembers() {
        let driver = Self.linked()
        _ = Self.admit(driver, "alice")
        #expect(driver.receive("alice", "/who") == [.send("2 members: alice (n1), zed (n2)", to: "alice")])
        #expect(driver.receive("alice", "/msg zed hi there") == [.send("[PM to zed] hi there", to: "alice")])
        #expect(driver.room.takeClusterEffects() == [.publish(.privateMessage(from: "alice", to: "zed", text: "hi there"))])
        var effects: [RoomEffect] = []
        driver.room.clusterReceived(ClusterMessage(node: "n2", sequence: 9, body: .left(nick: "zed")), now: driver.now, effects: &effects)
        #expect(driver.receive("alice", "/msg zed again") == [.send("No member is called zed.", to: "alice")])
    }

    /// A node reaped by the others (its lease ran out: a crash whose restart took longer than
    /// the lease, or a node too slow) that links again with its members: they were announced
    /// as gone, so they are announced as joined again; those it did not bring back stay gone.
    @Test func aReapedNodesMembersAreAnnouncedAgainWhenItLinksAgainWithThem() {
        let driver = Self.linked()
        _ = Self.admit(driver, "alice")
        let id = driver.id("alice").rawValue
        func hear(_ sequence: UInt64, _ body: ClusterMessage.Body, from node: String = "n2") -> [String] {
            var effects: [RoomEffect] = []
            driver.room.clusterReceived(ClusterMessage(node: node, sequence: sequence, body: body), now: driver.now, effects: &effects)
            return Self.texts(effects)
        }
        #expect(hear(1, .nodeGone(nicks: ["zed", "yan"])) == ["broadcast [CLIENT DISCONNECT - zed] to [\(id)]",
                                                              "broadcast [CLIENT DISCONNECT - yan] to [\(id)]"])
        #expect(hear(1, .joined(nick: "zed")) == ["broadcast zed has joined the chat! to [\(id)]"], "n2 linked again, claiming zed")
        #expect(hear(2, .joined(nick: "zed")).isEmpty, "announced once")
        #expect(hear(3, .line("zed: back", kept: true)) == ["broadcast zed: back to [\(id)]"])
        // n2 spoke, so its re-link is over: yan did not come back, and a new yan is announced
        // by its own join line only.
        #expect(hear(4, .joined(nick: "yan")).isEmpty)
        #expect(hear(5, .line("yan has joined the chat!", kept: false)) == ["broadcast yan has joined the chat! to [\(id)]"])
        #expect(driver.receive("alice", "/who") == [.send("3 members: alice (n1), yan (n2), zed (n2)", to: "alice")])
    }

    @Test func aSplitTellsMembersOnce_andLinesGoStraightToLocalMembers() {
        let driver = Self.linked()
        _ = Self.admit(driver, "alice")
        let id = driver.id("alice").rawValue
        var effects: [RoomEffect] = []
        driver.room.clusterSplit(reason: "test", now: driver.now, effects: &effects)
        driver.room.clusterSplit(reason: "again", now: driver.now, effects: &effects)
        #expect(Self.texts(effects) == ["broadcast \(Notice.clusterSplit) to [\(id)]"])
        #expect(driver.receive("alice", "alone") == [.broadcast("alice: alone", to: ["alice"])])
        #expect(driver.room.takeClusterEffects().isEmpty)
        effects = []
        driver.room.clusterLinked(claims: [driver.id("alice"): true], roster: [], departed: ["gone"], now: driver.now, effects: &effects)
        #expect(Self.texts(effects) == ["broadcast \(Notice.clusterWhole) to [\(id)]"])
        #expect(driver.room.takeClusterEffects() == [.publish(.left(nick: "gone")), .publish(.line("[CLIENT DISCONNECT - gone]", kept: false)),
                                                       .publish(.joined(nick: "alice"))])
    }

    @Test func aNicknameLostDuringTheSplitRenamesItsLocalHolder() {
        let driver = Self.linked()
        _ = Self.admit(driver, "alice")
        var effects: [RoomEffect] = []
        driver.room.clusterSplit(reason: "test", now: driver.now, effects: &effects)
        effects = []
        driver.room.clusterLinked(claims: [driver.id("alice"): false], roster: [(nick: "alice", node: "n2")], departed: [],
                                  now: driver.now, effects: &effects)
        let id = driver.id("alice").rawValue
        #expect(Self.texts(effects) == ["send \(Notice.renamedAfterSplit("alice", "alice_2")) to \(id)",
                                        "broadcast \(Notice.clusterWhole) to [\(id)]"])
        #expect(driver.room.takeClusterEffects() == [.claimNick(driver.id("alice"), key: "alice_2", nick: "alice_2")],
                "the new nickname is claimed; the other node's claim on alice stays")
        effects = []
        driver.room.nickClaimed(driver.id("alice"), outcome: .granted, now: driver.now, effects: &effects)
        #expect(driver.room.takeClusterEffects() == [.publish(.joined(nick: "alice_2"))])
        #expect(driver.receive("alice", "hi").isEmpty)
        #expect(driver.room.takeClusterEffects() == [.publish(.line("alice_2: hi", kept: true, from: driver.address("alice")))])
    }

    @Test func aRenamedMemberWhoseNewNicknameIsTakenTooIsLetGo() {
        let driver = Self.linked()
        _ = Self.admit(driver, "alice")
        var effects: [RoomEffect] = []
        driver.room.clusterSplit(reason: "test", now: driver.now, effects: &effects)
        driver.room.clusterLinked(claims: [driver.id("alice"): false], roster: [], departed: [], now: driver.now, effects: &effects)
        _ = driver.room.takeClusterEffects()
        effects = []
        driver.room.nickClaimed(driver.id("alice"), outcome: .taken, now: driver.now, effects: &effects)
        let id = driver.id("alice").rawValue
        #expect(Self.texts(effects) == ["send \(Notice.nickTakenDuringSplit("alice_2")) to \(id)", "close \(id)"])
        #expect(driver.room.memberCount == 0)
    }
}
