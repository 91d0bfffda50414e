import ChatCore
import Testing

/// `/nick` on one node of a cluster: the new nickname is claimed first, the rename goes
/// through the channel with the rosters' update before it, a claim lost gets the single
/// node's reply, and a rename during a split goes ahead here and is claimed when whole.
@Suite("Room: /nick on one node of a cluster")
struct RoomClusterRenameTests {
    typealias Base = RoomClusterTests

    @Test func aRenameIsClaimedFirst_thenTheRostersAndTheNoticeGoThroughTheChannel() {
        let driver = Base.linked()
        _ = Base.admit(driver, "alice")
        let id = driver.id("alice")
        #expect(driver.receive("alice", "/nick Alicia").isEmpty, "nothing before the claim is answered")
        #expect(driver.room.takeClusterEffects() == [.claimNick(id, key: "alicia", nick: "Alicia")])
        #expect(driver.receive("alice", "/nick bob") == [.send(Notice.nickChangePending, to: "alice")])
        var effects: [RoomEffect] = []
        driver.room.nickClaimed(id, outcome: .granted, now: driver.now, effects: &effects)
        #expect(Base.texts(effects).isEmpty, "shown when it comes back from the channel")
        #expect(driver.room.takeClusterEffects() == [.releaseNick(key: "alice"), .publish(.left(nick: "alice")),
                                                       .publish(.joined(nick: "Alicia")),
                                                       .publish(.line("alice is now known as Alicia.", kept: false))])
        #expect(driver.receive("alice", "/who") == [.send("2 members: Alicia (n1), zed (n2)", to: "alice")])
        // Only the case: the claim is this node's already (the script grants it), no release.
        #expect(driver.receive("alice", "/nick alicia").isEmpty)
        #expect(driver.room.takeClusterEffects() == [.claimNick(id, key: "alicia", nick: "alicia")])
        driver.room.nickClaimed(id, outcome: .granted, now: driver.now, effects: &effects)
        #expect(driver.room.takeClusterEffects() == [.publish(.left(nick: "Alicia")), .publish(.joined(nick: "alicia")),
                                                       .publish(.line("Alicia is now known as alicia.", kept: false))])
    }

    @Test func aNicknameHeldOnAnotherNodeGetsTheSingleNodeReply() {
        let driver = Base.linked()
        _ = Base.admit(driver, "alice")
        let id = driver.id("alice")
        #expect(driver.receive("alice", "/nick zed").isEmpty)
        #expect(driver.room.takeClusterEffects() == [.claimNick(id, key: "zed", nick: "zed")])
        var effects: [RoomEffect] = []
        driver.room.nickClaimed(id, outcome: .taken, now: driver.now, effects: &effects)
        #expect(Base.texts(effects) == ["send \(Notice.nickInUse("zed")) to \(id.rawValue)"])
        #expect(driver.room.takeClusterEffects().isEmpty, "nothing released, nothing announced")
        #expect(driver.receive("alice", "/who") == [.send("2 members: alice (n1), zed (n2)", to: "alice")])
    }

    @Test func aMemberGoneBeforeTheAnswerGivesTheNewNicknameBack() {
        let driver = Base.linked()
        _ = Base.admit(driver, "alice")
        let id = driver.id("alice")
        _ = driver.receive("alice", "/nick alicia")
        _ = driver.room.takeClusterEffects()
        _ = driver.closed("alice")
        #expect(driver.room.takeClusterEffects() == [.releaseNick(key: "alice"), .publish(.left(nick: "alice")),
                                                       .publish(.line("[CLIENT DISCONNECT - alice]", kept: false))])
        var effects: [RoomEffect] = []
        driver.room.nickClaimed(id, outcome: .granted, now: driver.now, effects: &effects)
        #expect(driver.room.takeClusterEffects() == [.releaseNick(key: "alicia")])
        #expect(Base.texts(effects).isEmpty)
    }

    @Test func aRenameDuringASplitGoesAheadHere_andIsClaimedWhenWhole_orRenamedIfLost() {
        let driver = Base.linked()
        _ = Base.admit(driver, "alice")
        let id = driver.id("alice")
        var effects: [RoomEffect] = []
        driver.room.clusterSplit(reason: "test", now: driver.now, effects: &effects)
        #expect(driver.receive("alice", "/nick bob") == [.broadcast("alice is now known as bob.", to: ["alice"])])
        #expect(driver.room.takeClusterEffects().isEmpty)
        effects = []
        // The link claimed bob for this node, but a rename may have raced the link: claimed again.
        driver.room.clusterLinked(claims: [id: true], roster: [(nick: "bob", node: "n2")], departed: ["alice"],
                                  now: driver.now, effects: &effects)
        #expect(Base.texts(effects) == ["broadcast \(Notice.clusterWhole) to [\(id.rawValue)]"], "no leave notice for alice")
        #expect(driver.room.takeClusterEffects() == [.releaseNick(key: "alice"), .publish(.left(nick: "alice")),
                                                       .claimNick(id, key: "bob", nick: "bob")])
        effects = []
        driver.room.nickClaimed(id, outcome: .taken, now: driver.now, effects: &effects)
        #expect(Base.texts(effects) == ["send \(Notice.renamedAfterSplit("bob", "bob_2")) to \(id.rawValue)"])
        #expect(driver.room.takeClusterEffects() == [.claimNick(id, key: "bob_2", nick: "bob_2")])
    }
}
