import ChatCore
import Testing

@Suite("IPAddress")
struct IPAddressTests {
    /// An address from its eight 16-bit groups.
    static func v6(_ groups: [UInt16]) -> IPAddress {
        precondition(groups.count == 8)
        return IPAddress(ipv6Bytes: groups.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] })
    }

    @Test(arguments: [
        (IPAddress(v4: 127, 0, 0, 1), "127.0.0.1"),
        (IPAddress(v4: 0, 0, 0, 0), "0.0.0.0"),
        (IPAddress(v4: 255, 255, 255, 255), "255.255.255.255"),
        (IPAddress(v4: 192, 168, 10, 200), "192.168.10.200"),
        (IPAddress.v4(0x0A00_0001), "10.0.0.1"),
    ])
    func ipv4_describesAsDottedQuad(address: IPAddress, text: String) {
        #expect(address.description == text)
    }

    @Test(arguments: [
        ([0, 0, 0, 0, 0, 0, 0, 1] as [UInt16], "::1"),
        ([0, 0, 0, 0, 0, 0, 0, 0], "::"),
        ([0x2001, 0xDB8, 0, 0, 0, 0, 0, 1], "2001:db8::1"),
        ([0x2001, 0xDB8, 0, 0, 0, 0, 2, 1], "2001:db8::2:1"),
        ([1, 0, 0, 0, 0, 0, 0, 0], "1::"),
        ([0xFE80, 0, 0, 0, 0x1, 0x2, 0x3, 0x4], "fe80::1:2:3:4"),
        // A single zero group is not compressed (RFC 5952 4.2.2).
        ([0x2001, 0xDB8, 0, 1, 1, 1, 1, 1], "2001:db8:0:1:1:1:1:1"),
        // The longest run wins...
        ([1, 0, 0, 2, 0, 0, 0, 3], "1:0:0:2::3"),
        // ...and the first of equally long runs (RFC 5952 4.2.3).
        ([0x2001, 0xDB8, 0, 0, 1, 0, 0, 1], "2001:db8::1:0:0:1"),
        // Lower case, no leading zeros (RFC 5952 4.1, 4.3).
        ([0x2001, 0x0DB8, 0xABCD, 0x00EF, 0x0001, 0xFFFF, 0x0010, 0x0100], "2001:db8:abcd:ef:1:ffff:10:100"),
        // Not IPv4-mapped: IPv4-compatible (deprecated) and near misses stay IPv6.
        ([0, 0, 0, 0, 0, 0, 0x7F00, 1], "::7f00:1"),
        ([0, 0, 0, 0, 0, 0xFFFE, 0x7F00, 1], "::fffe:7f00:1"),
        ([0, 0, 0, 0, 1, 0xFFFF, 0x7F00, 1], "::1:ffff:7f00:1"),
        ([0x64, 0xFF9B, 0, 0, 0, 0, 0xC000, 0x221], "64:ff9b::c000:221"),
    ])
    func ipv6_describesInRFC5952Form(groups: [UInt16], text: String) {
        #expect(Self.v6(groups).description == text)
    }

    @Test func ipv4MappedIPv6_unwrapsToIPv4() {
        let mapped = Self.v6([0, 0, 0, 0, 0, 0xFFFF, 0x7F00, 0x0002])
        #expect(mapped == IPAddress(v4: 127, 0, 0, 2))
        #expect(mapped.description == "127.0.0.2")
        #expect(Self.v6([0, 0, 0, 0, 0, 0xFFFF, 0xC0A8, 0x0A01]).description == "192.168.10.1")
    }

    @Test func ipv4MappedIPv6_isTheSameBanKeyAsIPv4() {
        let banned: Set<IPAddress> = [IPAddress(v4: 10, 0, 0, 2)]
        #expect(banned.contains(Self.v6([0, 0, 0, 0, 0, 0xFFFF, 0x0A00, 0x0002])))
        #expect(!banned.contains(Self.v6([0, 0, 0, 0, 0, 0xFFFF, 0x0A00, 0x0003])))
    }

    @Test func ipv6Storage_keepsAllSixteenBytesInOrder() {
        let bytes: [UInt8] = Array(1...16)
        #expect(IPAddress(ipv6Bytes: bytes) == .v6(0x0102_0304_0506_0708, 0x090A_0B0C_0D0E_0F10))
        #expect(IPAddress(ipv6Bytes: bytes).description == "102:304:506:708:90a:b0c:d0e:f10")
    }

    @Test func addresses_compareByValue() {
        #expect(IPAddress(v4: 1, 2, 3, 4) == IPAddress(v4: 1, 2, 3, 4))
        #expect(IPAddress(v4: 1, 2, 3, 4) != IPAddress(v4: 1, 2, 3, 5))
        #expect(Self.v6([0, 0, 0, 0, 0, 0, 0, 1]) != IPAddress(v4: 0, 0, 0, 1))
        #expect(Self.v6([0, 0, 0, 0, 0, 0, 0, 1]) != IPAddress(v4: 127, 0, 0, 1))
    }
}
