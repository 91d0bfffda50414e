import ChatCore
import Testing

@Suite("IPRange")
struct IPRangeTests {
    @Test(arguments: [
        ("10.0.0.0/8", "10.0.0.0/8", false),
        ("10.1.2.3/8", "10.0.0.0/8", false),        // the network is masked
        ("10.0.0.7", "10.0.0.7", true),
        ("10.0.0.7/32", "10.0.0.7", true),
        ("192.0.2.128/25", "192.0.2.128/25", false),
        ("192.0.2.200/25", "192.0.2.128/25", false),
        ("0.0.0.0/0", "0.0.0.0/0", false),
        ("255.255.255.255/0", "0.0.0.0/0", false),
        ("2001:db8::/32", "2001:db8::/32", false),
        ("2001:DB8:1:2::/32", "2001:db8::/32", false),
        ("2001:db8:abcd:1234:5678::/48", "2001:db8:abcd::/48", false),
        ("2001:db8::ffff:1/65", "2001:db8::/65", false),
        ("2001:db8::1", "2001:db8::1", true),
        ("2001:db8::1/128", "2001:db8::1", true),
        ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1", true),
        ("fe80::1/64", "fe80::/64", false),
        ("::/0", "::/0", false),
        ("::1", "::1", true),
        ("::ffff:10.0.0.2", "10.0.0.2", true),       // IPv4-mapped is IPv4
        ("::ffff:a00:2", "10.0.0.2", true),          // ...written in hex too
        ("::ffff:10.0.0.2/32", "10.0.0.2", true),
        ("::ffff:10.0.0.0/24", "10.0.0.0/24", false), // ...so its prefix counts IPv4 bits
        ("::10.0.0.2", "::a00:2", true),             // IPv4-compatible (deprecated) stays IPv6
        ("1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0", true),
        ("1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304", true),
    ] as [(String, String, Bool)])
    func parse_normalisesTheText(text: String, description: String, single: Bool) throws {
        let range = try #require(IPRange(parsing: text))
        #expect(range.description == description)
        #expect(range.isSingleAddress == single)
        #expect(IPRange(parsing: range.description) == range, "the description parses back to the same range")
    }

    @Test(arguments: [
        "", "bob", "10.0.0", "10.0.0.0.0", "10.0.0.256", "10.0.0.-1", "10.0.0.1a", "010.0.0.0001",
        "10.0.0.0/33", "10.0.0.0/", "/8", "10.0.0.0/8/8", "10.0.0.0/x", "10.0.0.0/-1",
        "2001:db8::/129", "2001:db8:::/32", "1::2::3", ":::", "12345::", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7",
        "1.2.3.4:1::", "fe80::1%eth0", "g::1", "2001:db8::/", "[2001:db8::1]",
        "::ffff:10.0.0.0/104",      // IPv4-mapped ranges are written in IPv4 prefix bits (10.0.0.0/8)
    ])
    func parse_refusesWhatIsNotAnAddressOrRange(text: String) {
        #expect(IPRange(parsing: text) == nil)
    }

    @Test(arguments: [
        ("10.0.0.0/8", "10.0.0.0", true),
        ("10.0.0.0/8", "10.255.255.255", true),
        ("10.0.0.0/8", "11.0.0.0", false),
        ("10.0.0.0/8", "9.255.255.255", false),
        ("10.0.0.0/31", "10.0.0.1", true),
        ("10.0.0.0/31", "10.0.0.2", false),
        ("10.0.0.7", "10.0.0.7", true),
        ("10.0.0.7", "10.0.0.8", false),
        ("0.0.0.0/0", "203.0.113.9", true),
        ("0.0.0.0/0", "::1", false),                         // an IPv4 range holds no IPv6 address
        ("128.0.0.0/1", "127.255.255.255", false),
        ("128.0.0.0/1", "128.0.0.0", true),
        ("10.0.0.0/24", "::ffff:10.0.0.9", true),            // IPv4-mapped addresses are IPv4
        ("2001:db8::/32", "2001:db8::1", true),
        ("2001:db8::/32", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", true),
        ("2001:db8::/32", "2001:db9::", false),
        ("2001:db8::/32", "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", false),
        ("2001:db8::/32", "10.0.0.1", false),                 // ...and an IPv6 range no IPv4 address
        ("::/0", "10.0.0.1", false),
        ("::/0", "::ffff:10.0.0.1", false),                   // not even in mapped form
        ("::/0", "2001:db8::1", true),
        ("2001:db8::/64", "2001:db8::ffff:ffff:ffff:ffff", true),
        ("2001:db8::/64", "2001:db8:0:1::", false),
        ("2001:db8::/65", "2001:db8::7fff:ffff:ffff:ffff", true),
        ("2001:db8::/65", "2001:db8::8000:0:0:0", false),
        ("2001:db8::/96", "2001:db8::ffff:ffff", true),
        ("2001:db8::/96", "2001:db8::1:0:0", false),
        ("2001:db8::/127", "2001:db8::1", true),
        ("2001:db8::/127", "2001:db8::2", false),
        ("2001:db8::1", "2001:db8::1", true),
        ("2001:db8::1", "2001:db8::1:0", false),
        ("8000::/1", "7fff::", false),
        ("8000::/1", "ffff::", true),
    ] as [(String, String, Bool)])
    func contains_matchesTheNetworkBits(range: String, address: String, expected: Bool) throws {
        let parsed = try #require(IPRange(parsing: range))
        #expect(parsed.contains(ip(address)) == expected)
    }

    @Test func singleAddressRanges_areTheAddressItself() {
        #expect(IPRange(ip("10.0.0.7")) == IPRange(parsing: "10.0.0.7/32"))
        #expect(IPRange(ip("2001:db8::1")) == IPRange(parsing: "2001:db8::1/128"))
        #expect(IPRange(ip("2001:db8::1")).prefixLength == 128)
        #expect(IPRange(ip("10.0.0.7")).prefixLength == 32)
        #expect(IPRange(ip("10.0.0.7")).network == ip("10.0.0.7"))
    }

    @Test func ranges_withTheSameMaskedNetwork_areEqual() {
        #expect(IPRange(parsing: "10.1.2.3/8") == IPRange(parsing: "10.0.0.0/8"))
        #expect(IPRange(parsing: "10.0.0.0/8") != IPRange(parsing: "10.0.0.0/9"))
        #expect(IPRange(parsing: "2001:db8:1::/32") == IPRange(parsing: "2001:db8::/32"))
        #expect(IPRange(network: ip("10.9.9.9"), prefixLength: 16)?.description == "10.9.0.0/16")
    }

    @Test(arguments: [(ip("10.0.0.0"), 33), (ip("10.0.0.0"), -1), (ip("::"), 129), (ip("::"), -1)] as [(IPAddress, Int)])
    func prefixLength_outOfRange_isRefused(network: IPAddress, length: Int) {
        #expect(IPRange(network: network, prefixLength: length) == nil)
    }
}
