@testable import ChatDaemon
import ChatCore
import Reactor
import Testing

@Suite("ConnectionTable: sessions and the places they hold")
struct ConnectionTableTests {
    static let address = IPAddress(v4: 10, 0, 0, 1)
    static func connection(_ slot: UInt64) -> ConnectionID { ConnectionID(rawValue: slot) }

    @Test func open_admitsWithinTheLimits_andRefusalsHoldNoSession() {
        var table = ConnectionTable(limits: ConnectionLimits(maximumTotal: 10, maximumPerAddress: 2))
        #expect(table.open(Self.connection(1), address: Self.address, maximumFrameLength: 100) == .admitted)
        #expect(table.open(Self.connection(2), address: Self.address, maximumFrameLength: 100) == .admitted)
        #expect(table.open(Self.connection(3), address: Self.address, maximumFrameLength: 100) == .addressFull)
        #expect(table.session(Self.connection(3)) == nil)
        #expect(table.session(Self.connection(1))?.address == Self.address)
        #expect(table.servingCount == 2)
    }

    @Test func aConnectionTheRoomClosed_keepsItsPlace_untilItsSocketIsGone() {
        var table = ConnectionTable(limits: ConnectionLimits(maximumTotal: 10, maximumPerAddress: 1))
        #expect(table.open(Self.connection(1), address: Self.address, maximumFrameLength: 100) == .admitted)
        table.stopServing(Self.connection(1))
        #expect(table.session(Self.connection(1)) == nil, "no more frames are decoded for it")
        #expect(table.lingeringCount == 1)
        #expect(table.open(Self.connection(2), address: Self.address, maximumFrameLength: 100) == .addressFull,
                "a lingering socket still counts against its address")
        table.socketClosed(Self.connection(1))
        #expect(table.lingeringCount == 0)
        #expect(table.limits.total == 0)
        #expect(table.open(Self.connection(2), address: Self.address, maximumFrameLength: 100) == .admitted)
    }

    @Test func aSocketThatClosesWhileServed_freesItsPlaceOnce() {
        var table = ConnectionTable(limits: ConnectionLimits(maximumTotal: 10, maximumPerAddress: 1))
        #expect(table.open(Self.connection(1), address: Self.address, maximumFrameLength: 100) == .admitted)
        table.socketClosed(Self.connection(1))
        table.socketClosed(Self.connection(1))
        #expect(table.limits.total == 0)
        #expect(table.servingCount == 0)
    }

    @Test func eachSession_decodesWithTheConfiguredFrameLimit() throws {
        var table = ConnectionTable(limits: ConnectionLimits(maximumTotal: 10, maximumPerAddress: 1))
        _ = table.open(Self.connection(1), address: Self.address, maximumFrameLength: 64)
        let session = try #require(table.session(Self.connection(1)))
        let header = Array("65".utf8) + Array(repeating: UInt8(ascii: " "), count: 62)
        #expect(throws: (any Error).self) {
            try header.withUnsafeBytes { bytes in try session.decoder.feed(bytes) { _ in true } }
        }
    }
}
