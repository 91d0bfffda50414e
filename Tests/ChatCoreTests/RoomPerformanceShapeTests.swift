import Bytes
import ChatCore
import ChatProtocol
import Testing

/// Properties the relay path's cost depends on: what is encoded once and shared, and what
/// can be switched off.
@Suite("Room: encode once, share")
struct RoomPerformanceShapeTests {
    @Test func floodRateZero_turnsFloodControlOff() {
        let room = RoomDriver(configuration: RoomDriver.configuration(floodRate: 0, floodBurst: 1, floodDisconnectAfter: 1))
        room.join("alice")
        for i in 0..<500 {
            #expect(room.receive("alice", "line \(i)") == [.broadcast("alice: line \(i)", to: ["alice"])])
        }
        #expect(room.memberNicks == ["alice"])
    }

    @Test func historyReplay_reusesTheSameFrames_forEveryJoin() throws {
        let room = Room(configuration: RoomDriver.configuration())
        var effects: [RoomEffect] = []
        room.connectionOpened(ClientID(1), address: IPAddress(v4: 10, 0, 0, 1), peer: "10.0.0.1:1", now: .zero, effects: &effects)
        "NICK:alice".utf8.withContiguousStorageIfAvailable { room.frameReceived(UnsafeRawBufferPointer($0), from: ClientID(1), now: .zero, effects: &effects) }
        "hello".utf8.withContiguousStorageIfAvailable { room.frameReceived(UnsafeRawBufferPointer($0), from: ClientID(1), now: .zero, effects: &effects) }

        func replayFramesForANewcomer(_ id: UInt64) -> [SharedBytes] {
            var effects: [RoomEffect] = []
            room.connectionOpened(ClientID(id), address: IPAddress(v4: 10, 0, 0, UInt8(id)), peer: "p", now: .zero, effects: &effects)
            "NICK:user\(id)".utf8.withContiguousStorageIfAvailable {
                room.frameReceived(UnsafeRawBufferPointer($0), from: ClientID(id), now: .zero, effects: &effects)
            }
            return effects.compactMap { effect in
                if case let .send(frame, to) = effect, to == ClientID(id),
                   String(decoding: frame.array.dropFirst(FrameFormat.headerLength), as: UTF8.self).hasPrefix("[history ") { return frame }
                return nil
            }
        }
        let first = replayFramesForANewcomer(2)
        let second = replayFramesForANewcomer(3)
        try #require(first.count == 1 && second.count == 1)
        #expect(first[0] === second[0], "the replay frame is encoded once and shared")
    }
}
