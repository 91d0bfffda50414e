@testable import ChatDaemon
import ChatCore
import Testing

@Suite("ConnectionLimits: total and per address (IPv6 per /64)")
struct ConnectionLimitsTests {
    static func ip(_ text: String) -> IPAddress { IPAddress(parsing: text)! }

    @Test func perAddressCap_thenOtherAddressesStillAdmitted() {
        var limits = ConnectionLimits(maximumTotal: 100, maximumPerAddress: 2)
        #expect(limits.admit(Self.ip("127.0.0.1")) == .admitted)
        #expect(limits.admit(Self.ip("127.0.0.1")) == .admitted)
        #expect(limits.admit(Self.ip("127.0.0.1")) == .addressFull)
        #expect(limits.admit(Self.ip("127.0.0.2")) == .admitted)
        #expect(limits.total == 3, "a refused connection is not counted")
    }

    @Test func totalCap_appliesAcrossAddresses_andWinsOverThePerAddressCap() {
        var limits = ConnectionLimits(maximumTotal: 3, maximumPerAddress: 2)
        #expect(limits.admit(Self.ip("10.0.0.1")) == .admitted)
        #expect(limits.admit(Self.ip("10.0.0.1")) == .admitted)
        #expect(limits.admit(Self.ip("10.0.0.2")) == .admitted)
        #expect(limits.admit(Self.ip("10.0.0.3")) == .serverFull)
        #expect(limits.admit(Self.ip("10.0.0.1")) == .serverFull)
        #expect(limits.total == 3)
    }

    @Test func release_freesASlot_forThatAddressAndTheTotal() {
        var limits = ConnectionLimits(maximumTotal: 2, maximumPerAddress: 1)
        #expect(limits.admit(Self.ip("10.0.0.1")) == .admitted)
        #expect(limits.admit(Self.ip("10.0.0.2")) == .admitted)
        #expect(limits.admit(Self.ip("10.0.0.3")) == .serverFull)
        limits.release(Self.ip("10.0.0.1"))
        #expect(limits.total == 1)
        #expect(limits.admit(Self.ip("10.0.0.2")) == .addressFull)
        #expect(limits.admit(Self.ip("10.0.0.1")) == .admitted)
        limits.release(Self.ip("10.0.0.1"))
        limits.release(Self.ip("10.0.0.2"))
        #expect(limits.total == 0)
    }

    @Test func releasingAnAddressThatHoldsNothing_changesNothing() {
        var limits = ConnectionLimits(maximumTotal: 1, maximumPerAddress: 1)
        #expect(limits.admit(Self.ip("10.0.0.1")) == .admitted)
        limits.release(Self.ip("10.0.0.9"))
        #expect(limits.total == 1)
        limits.release(Self.ip("10.0.0.1"))
        limits.release(Self.ip("10.0.0.1"))  // twice: must not go negative
        #expect(limits.total == 0)
        #expect(limits.admit(Self.ip("10.0.0.2")) == .admitted)
        #expect(limits.admit(Self.ip("10.0.0.3")) == .serverFull)
    }

    @Test func ipv6_countsBy64() {
        var limits = ConnectionLimits(maximumTotal: 100, maximumPerAddress: 2)
        #expect(limits.admit(Self.ip("2001:db8:1:2::1")) == .admitted)
        #expect(limits.admit(Self.ip("2001:db8:1:2:ffff:ffff:ffff:ffff")) == .admitted)
        #expect(limits.admit(Self.ip("2001:db8:1:2:dead:beef::7")) == .addressFull, "same /64")
        #expect(limits.admit(Self.ip("2001:db8:1:3::1")) == .admitted, "the next /64 is another host")
        #expect(limits.admit(Self.ip("2001:db9:1:2::1")) == .admitted)
        #expect(ConnectionLimits.key(Self.ip("2001:db8:1:2::1")) == ConnectionLimits.key(Self.ip("2001:db8:1:2:abcd::")))
        #expect(ConnectionLimits.key(Self.ip("2001:db8:1:2::1")) != ConnectionLimits.key(Self.ip("2001:db8:1:3::1")))
        limits.release(Self.ip("2001:db8:1:2::1"))
        #expect(limits.admit(Self.ip("2001:db8:1:2:1:2:3:4")) == .admitted, "released by any address of the /64")
    }

    @Test func ipv4_countsByAddress_andMappedIPv6IsTheSameHost() {
        var limits = ConnectionLimits(maximumTotal: 100, maximumPerAddress: 1)
        #expect(limits.admit(Self.ip("192.0.2.1")) == .admitted)
        #expect(limits.admit(Self.ip("192.0.2.2")) == .admitted, "IPv4 is not grouped by prefix")
        #expect(limits.admit(Self.ip("::ffff:192.0.2.1")) == .addressFull, "IPv4-mapped IPv6 is the IPv4 host")
        // The IPv4 value must not share a key with some IPv6 /64.
        #expect(ConnectionLimits.key(Self.ip("0.0.0.1")) != ConnectionLimits.key(Self.ip("::1")))
    }

    @Test func loweringTheCaps_keepsExistingConnections_andRefusesNewOnes() {
        var limits = ConnectionLimits(maximumTotal: 10, maximumPerAddress: 3)
        for _ in 0..<3 { #expect(limits.admit(Self.ip("127.0.0.1")) == .admitted) }
        limits.maximumPerAddress = 1  // a reload
        #expect(limits.admit(Self.ip("127.0.0.1")) == .addressFull)
        limits.release(Self.ip("127.0.0.1"))
        limits.release(Self.ip("127.0.0.1"))
        #expect(limits.admit(Self.ip("127.0.0.1")) == .addressFull)
        limits.release(Self.ip("127.0.0.1"))
        #expect(limits.admit(Self.ip("127.0.0.1")) == .admitted)
        limits.maximumTotal = 1
        #expect(limits.admit(Self.ip("127.0.0.2")) == .serverFull)
    }
}

@Suite("Connection limits: the IPv6 host prefix")
struct ConnectionLimitsPrefixTests {
    static func ip(_ text: String) -> IPAddress { IPAddress(parsing: text)! }

    @Test func aShorterPrefix_groupsMoreAddressesAsOneHost() {
        var limits = ConnectionLimits(maximumTotal: 100, maximumPerAddress: 1, ipv6PrefixLength: 48)
        #expect(limits.admit(Self.ip("2001:db8:1:2::1")) == .admitted)
        #expect(limits.admit(Self.ip("2001:db8:1:ffff::1")) == .addressFull, "same /48")
        #expect(limits.admit(Self.ip("2001:db8:2::1")) == .admitted, "another /48")
    }

    @Test func prefix128_countsEveryAddress() {
        var limits = ConnectionLimits(maximumTotal: 100, maximumPerAddress: 1, ipv6PrefixLength: 128)
        #expect(limits.admit(Self.ip("2001:db8::1")) == .admitted)
        #expect(limits.admit(Self.ip("2001:db8::2")) == .admitted)
        #expect(limits.admit(Self.ip("2001:db8::1")) == .addressFull)
    }

    @Test func acceptRate_refusesAHostPastItsBurst_refillsOverTime_andLeavesOthersAlone() {
        var limits = ConnectionLimits(maximumTotal: 100, maximumPerAddress: 100)
        limits.acceptsPerSecond = 2  // bursts of 4
        for _ in 0..<4 { #expect(limits.admit(Self.ip("10.0.0.1"), now: 0) == .admitted) }
        #expect(limits.admit(Self.ip("10.0.0.1"), now: 0) == .tooFast)
        #expect(limits.admit(Self.ip("10.0.0.2"), now: 0) == .admitted)
        #expect(limits.admit(Self.ip("10.0.0.1"), now: 500_000_000) == .admitted, "one back after half a second")
        #expect(limits.total == 6, "a connection refused as too fast is not counted")
    }

    @Test func hostsOfIPv6_areTheirPrefix_andIPv4AddressesThemselves() {
        #expect(ConnectionLimits.key(Self.ip("2001:db8:1:2::1")) == IPRange(parsing: "2001:db8:1:2::/64"))
        #expect(ConnectionLimits.key(Self.ip("192.0.2.7")) == IPRange(Self.ip("192.0.2.7")))
    }
}
