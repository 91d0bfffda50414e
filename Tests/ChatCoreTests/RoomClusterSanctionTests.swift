import ChatCore
import Testing

/// Sanctions in a cluster: each change goes to Redis as a `SanctionChange` (never the whole
/// list), stays applied here until its own result comes back, and every result, this
/// node's included, is adopted in the channel's order; `/ban --purge` reaches lines said
/// on other nodes through the speaker's address on each kept line.
@Suite("Room: sanctions in a cluster")
struct RoomClusterSanctionTests {
    static func ban(_ text: String, by: String = "x", at: Int64 = 1_700_000_000, expires: Int64? = nil) -> Sanction {
        Sanction(kind: .ban, range: IPRange(parsing: text)!, setBy: by, setAt: at, expiresAt: expires)
    }

    static func changes(_ driver: RoomDriver) -> [SanctionChange] {
        driver.room.takeClusterEffects().compactMap { if case let .changeSanctions(change) = $0 { return change } else { return nil } }
    }

    static func receive(_ driver: RoomDriver, from node: String, _ body: ClusterMessage.Body) -> [RoomEffect] {
        var effects: [RoomEffect] = []
        driver.room.clusterReceived(ClusterMessage(node: node, sequence: 9, body: body), now: driver.now, effects: &effects)
        return effects
    }

    @Test func aChangeReplacesItsKindAndRangeAndRemovesWhatItNames() {
        var list = [Self.ban("10.0.0.1", by: "a"), Self.ban("10.0.0.2"), Sanction(kind: .mute, range: IPRange(parsing: "10.0.0.1")!, setBy: "m", setAt: 0)]
        var slowmode: Int? = 5
        SanctionChange(remove: [Self.ban("10.0.0.2").target], add: [Self.ban("10.0.0.1", by: "b")]).apply(to: &list, slowmode: &slowmode)
        #expect(list.map(\.setBy) == ["m", "b"])
        #expect(slowmode == 5)
        SanctionChange.slowmode(nil).apply(to: &list, slowmode: &slowmode)
        #expect(slowmode == nil)
        var seed = SanctionChange(add: [Self.ban("10.0.0.9")])
        seed.onlyIfNone = true
        seed.apply(to: &list, slowmode: &slowmode)
        #expect(list.count == 2, "a list for a Redis with none is never applied on top of Redis' list")
    }

    @Test func aBanSendsOneChangeWithItsPurgeAndNotTheWholeList() {
        let driver = RoomClusterTests.linked()
        driver.control("ban", "10.1.0.0/16 --purge")
        driver.control("ban", "10.2.0.1 1h")
        let sent = Self.changes(driver)
        #expect(sent.count == 2)
        #expect(sent[0].add.map(\.range) == [IPRange(parsing: "10.1.0.0/16")!] && sent[0].purge == IPRange(parsing: "10.1.0.0/16"))
        #expect(sent[1].add.map(\.range) == [IPRange(parsing: "10.2.0.1")!] && sent[1].purge == nil && sent[1].remove.isEmpty)
        #expect(driver.room.pendingSanctionChanges == sent)
        driver.control("unban", "10.2.0.1")
        driver.control("slowmode", "30")
        #expect(Self.changes(driver) == [SanctionChange(remove: [Self.ban("10.2.0.1").target]), .slowmode(30)])
    }

    @Test func aListFromAnotherNodeKeepsThisNodesPendingChangesOnTopUntilTheirResultComes() {
        let driver = RoomClusterTests.linked()
        driver.control("ban", "10.3.0.1")
        let mine = driver.room.sanctions
        _ = Self.changes(driver)
        // Node n2's ban, applied in Redis before this node's: its list lacks this node's ban.
        _ = Self.receive(driver, from: "n2", .sanctions([Self.ban("10.4.0.1", by: "n2")], slowmode: nil))
        #expect(Set(driver.room.sanctions.map { "\($0.range)" }) == ["10.3.0.1", "10.4.0.1"], "this node's ban did not flicker away")
        #expect(driver.room.pendingSanctionChanges.count == 1)
        // This node's result: Redis applied it after n2's; nothing is pending any more.
        _ = Self.receive(driver, from: "n1", .sanctions([Self.ban("10.4.0.1", by: "n2")] + mine, slowmode: nil))
        #expect(driver.room.pendingSanctionChanges.isEmpty)
        // From now on Redis' list is taken as it is (an unban on n2 lifts this node's ban).
        _ = Self.receive(driver, from: "n2", .sanctions([Self.ban("10.4.0.1", by: "n2")], slowmode: 7))
        #expect(driver.room.sanctions.map { "\($0.range)" } == ["10.4.0.1"])
        #expect(driver.room.slowmodeSeconds == 7)
    }

    @Test func aBanAdoptedFromAnotherNodeDisconnectsThisNodesMemberInRange() {
        let driver = RoomClusterTests.linked()
        _ = RoomClusterTests.admit(driver, "alice")
        let effects = Self.receive(driver, from: "n2", .sanctions([Sanction(kind: .ban, range: IPRange(driver.address("alice")), setBy: "n2admin", setAt: 0)], slowmode: nil))
        #expect(RoomClusterTests.texts(effects) == ["send You have been banned by an admin. to \(driver.id("alice").rawValue)", "close \(driver.id("alice").rawValue)"])
        #expect(driver.room.memberCount == 0)
    }

    @Test func expiredEntriesInRedisListAreLeftOutUnlessStillHeldHere() {
        let driver = RoomClusterTests.linked()
        let now = driver.now.unixSeconds
        _ = Self.receive(driver, from: "n2", .sanctions([Self.ban("10.5.0.1", expires: now + 10)], slowmode: nil))
        driver.advance(20)
        // Not yet expired by this node's tick: kept, so the tick announces it once.
        _ = Self.receive(driver, from: "n2", .sanctions([Self.ban("10.5.0.1", expires: now + 10), Self.ban("10.5.0.2", expires: now + 5)], slowmode: nil))
        #expect(driver.room.sanctions.map { "\($0.range)" } == ["10.5.0.1"])
    }

    @Test func changesDuringASplitAreSentWhenWholeAfterThisNodesListForARedisThatLostItsOwn() {
        let driver = RoomClusterTests.linked()
        driver.control("ban", "10.6.0.1")
        _ = Self.receive(driver, from: "n1", .sanctions(driver.room.sanctions, slowmode: nil))
        var effects: [RoomEffect] = []
        driver.room.clusterSplit(reason: "test", now: driver.now, effects: &effects)
        _ = driver.room.takeClusterEffects()
        driver.control("ban", "10.6.0.2")
        driver.control("unban", "10.6.0.1")
        #expect(Self.changes(driver).isEmpty, "nothing is sent while split")
        #expect(driver.room.pendingSanctionChanges.count == 2)
        // Redis came back empty: this node's list first (only if Redis still has none), then the changes.
        driver.room.clusterLinked(claims: [:], roster: [], departed: [], now: driver.now, effects: &effects)
        let sent = Self.changes(driver)
        #expect(sent.count == 3)
        #expect(sent[0].onlyIfNone && sent[0].add.map { "\($0.range)" } == ["10.6.0.2"])
        #expect(sent[1].add.map { "\($0.range)" } == ["10.6.0.2"])
        #expect(sent[2].remove.map { "\($0.range)" } == ["10.6.0.1"])
        // Split again and whole with a Redis that kept its list: only the unconfirmed changes, again.
        driver.room.clusterSplit(reason: "test", now: driver.now, effects: &effects)
        let kept = ClusterMessage(node: "n2", sequence: 1, body: .sanctions([Self.ban("10.6.0.1"), Self.ban("10.6.0.3")], slowmode: nil))
        driver.room.clusterLinked(claims: [:], roster: [], departed: [], state: [kept], now: driver.now, effects: &effects)
        #expect(Self.changes(driver) == Array(sent.dropFirst()))
        #expect(Set(driver.room.sanctions.map { "\($0.range)" }) == ["10.6.0.2", "10.6.0.3"], "Redis' list with this node's changes on top")
    }

    @Test func keptLinesCarryTheSpeakerSoAPurgeFromAnotherNodeRemovesThem() {
        let driver = RoomClusterTests.linked()
        _ = RoomClusterTests.admit(driver, "alice")
        _ = driver.receive("alice", "hello")
        #expect(driver.room.takeClusterEffects() == [.publish(.line("alice: hello", kept: true, from: driver.address("alice")))])
        let bob = IPAddress(v4: 192, 0, 2, 7)
        _ = Self.receive(driver, from: "n2", .line("bob: spam", kept: true, from: bob))
        _ = Self.receive(driver, from: "n1", .line("alice: hello", kept: true, from: driver.address("alice")))
        _ = Self.receive(driver, from: "n2", .line("bob: more", kept: true, from: bob))
        #expect(driver.room.history.count == 3)
        _ = Self.receive(driver, from: "n2", .sanctions([Sanction(kind: .ban, range: IPRange(bob), setBy: "n2admin", setAt: 0)], slowmode: nil,
                                                        purged: IPRange(bob)))
        #expect(driver.room.history.entries.map(\.text) == ["alice: hello"])
    }

    @Test(arguments: [
        ClusterMessage.Body.line("bob: hi", kept: true, from: IPAddress(v4: 127, 0, 0, 5)),
        .line("bob: hi", kept: true, from: ip("2001:db8::1")),
        .line("notice", kept: false),
        .sanctions([], slowmode: nil),
        .sanctions([RoomClusterSanctionTests.ban("10.0.0.0/8", expires: 5)], slowmode: 3, purged: IPRange(parsing: "10.0.0.0/8")),
        .sanctions([RoomClusterSanctionTests.ban("10.0.0.0/8"), RoomClusterSanctionTests.ban("::1")], slowmode: nil, purged: nil),
    ])
    func theNewFieldsSurviveTheChannel(_ body: ClusterMessage.Body) {
        let message = ClusterMessage(node: "n1", sequence: 4, body: body)
        #expect(message.encoded().withUnsafeBytes(ClusterMessage.init(decoding:)) == message)
    }

    @Test func addressesInHexRoundTrip() {
        for text in ["127.0.0.1", "10.20.30.40", "::1", "2001:db8::ff00:42:8329"] {
            #expect(IPAddress(hex: ip(text).hex) == ip(text), "\(text)")
        }
        #expect(ip("10.0.0.1").hex == "0a000001")
        #expect(IPAddress(hex: "0A000001") == nil && IPAddress(hex: "123") == nil)
    }
}
