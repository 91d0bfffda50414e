import ChatCore
import Testing

/// A planned restart hands the Room's state to the next process: what it restores must be
/// the room as it was, under the connections' new IDs.
@Suite("Room: snapshot and restore")
struct RoomSnapshotTests {
    @Test func restore_bringsBackMembersWithTheirNicksLoginsMutesAndOrder() throws {
        let before = RoomDriver(configuration: RoomDriver.configuration(accounts: ["mod": TestPassword.of(password: "m1")]),
                                now: RoomDriver.wallStart)
        before.joinAdmin()
        before.join("alice")
        before.join("bob")
        before.receive("alice", "/login mod m1")
        before.receive("admin", "/mute bob 1h")
        before.receive("admin", "/topic kept")
        before.receive("alice", "hello")
        before.open("shy")
        let (snapshot, interrupted) = before.room.snapshot()
        #expect(interrupted.isEmpty)
        #expect(snapshot.connections.count == 4)
        #expect(snapshot.connections.filter { $0.member == nil }.count == 1, "a connection still greeting comes too")

        let after = Room(configuration: before.room.configuration)
        var ids: [UInt64: ClientID] = [:]
        for (index, connection) in snapshot.connections.enumerated() { ids[connection.id] = ClientID(UInt64(1000 + index)) }
        var effects: [RoomEffect] = []
        #expect(after.restore(snapshot, ids: ids, now: RoomDriver.wallStart, effects: &effects) == 4)
        #expect(effects.isEmpty)
        let list = after.memberList(now: RoomDriver.wallStart)
        #expect(list.map(\.nick) == ["admin", "alice", "bob"])
        #expect(list.map(\.isAdmin) == [true, true, false])
        #expect(list.map(\.isMuted) == [false, false, true])
        #expect(after.topic?.text == "kept")
        #expect(after.history.entries.map(\.text) == ["alice: hello"])
        #expect(after.relayedMessageCount == before.room.relayedMessageCount)
        #expect(after.sanctions == before.room.sanctions)
    }

    @Test func aMemberWhoseSocketDidNotSurvive_isAnnouncedAsGone() {
        let before = RoomDriver(configuration: RoomDriver.configuration(), now: RoomDriver.wallStart)
        before.join("alice")
        before.join("bob")
        let (snapshot, _) = before.room.snapshot()
        let after = Room(configuration: before.room.configuration)
        let alice = snapshot.connections.first { $0.member?.nick == "alice" }!
        var effects: [RoomEffect] = []
        #expect(after.restore(snapshot, ids: [alice.id: ClientID(7)], now: RoomDriver.wallStart, effects: &effects) == 1)
        #expect(after.memberList(now: RoomDriver.wallStart).map(\.nick) == ["alice"])
        guard case let .broadcast(frame, to: recipients)? = effects.first else {
            Issue.record("expected the leave notice, got \(effects)")
            return
        }
        #expect(RoomDriver.payload(of: frame) == "[CLIENT DISCONNECT - bob]")
        #expect(recipients == [ClientID(7)])
    }

    @Test func anAdminWhoseAccountIsGoneInTheNewConfiguration_comesBackAsAMember() {
        let before = RoomDriver(configuration: RoomDriver.configuration(accounts: ["mod": TestPassword.of(password: "m1")]),
                                now: RoomDriver.wallStart)
        before.join("alice")
        before.receive("alice", "/login mod m1")
        let (snapshot, _) = before.room.snapshot()
        let after = Room(configuration: RoomDriver.configuration())
        var effects: [RoomEffect] = []
        after.restore(snapshot, ids: [snapshot.connections[0].id: ClientID(1)], now: RoomDriver.wallStart, effects: &effects)
        #expect(after.memberList(now: RoomDriver.wallStart).map(\.isAdmin) == [false])
    }
}

/// The daemon's crash journal records each connection whose joining, nick or login changed:
/// the Room lists them, and only when asked to.
@Suite("Room: the connections that changed, for the crash journal")
struct RoomChangedConnectionsTests {
    @Test func joiningRenamingLoggingInAndLeaving_areEachListed_chatIsNot() {
        let room = RoomDriver(configuration: RoomDriver.configuration(accounts: ["mod": TestPassword.of(password: "m1")]),
                              now: RoomDriver.wallStart)
        room.room.tracksConnectionChanges = true
        room.open("alice")
        room.receive("alice", "NICK:alice")
        room.join("bob")
        #expect(room.room.takeChangedConnections() == [room.id("alice"), room.id("alice"), room.id("bob"), room.id("bob")])
        room.receive("alice", "hello")
        room.receive("alice", "/me waves")
        #expect(!room.room.hasChangedConnections, "a line changes no one's standing")
        room.receive("bob", "/nick robert")
        room.receive("alice", "/login mod m1")
        room.closed("bob")
        #expect(room.room.takeChangedConnections() == [room.id("bob"), room.id("alice"), room.id("bob")])
        #expect(room.room.snapshotConnection(room.id("alice"))?.member?.isAdmin == true)
        #expect(room.room.snapshotConnection(room.id("bob")) == nil)
    }

    @Test func untracked_listsNothing() {
        let room = RoomDriver(configuration: RoomDriver.configuration(), now: RoomDriver.wallStart)
        room.join("alice")
        #expect(!room.room.hasChangedConnections)
        #expect(room.room.takeChangedConnections().isEmpty)
    }
}
