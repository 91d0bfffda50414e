import ChatCore
@testable import ChatDaemon
import Testing

/// The cluster's settings and its channel encoding, without Redis.
@Suite("Cluster: settings and messages")
struct ClusterSettingsTests {
    @Test(arguments: [
        ("redis://127.0.0.1:6380", RedisEndpoint.tcp(host: "127.0.0.1", port: 6380)),
        ("redis://redis.example", RedisEndpoint.tcp(host: "redis.example", port: 6379)),
        ("redis://[::1]:7000/", RedisEndpoint.tcp(host: "::1", port: 7000)),
        ("unix:/run/redis/redis-server.sock", RedisEndpoint.unix(path: "/run/redis/redis-server.sock")),
        ("unix:///tmp/r.sock", RedisEndpoint.unix(path: "/tmp/r.sock")),
    ])
    func endpointsParse(text: String, expected: RedisEndpoint) throws {
        #expect(try RedisEndpoint(parsing: text) == expected)
    }

    @Test(arguments: ["http://x", "redis://", "redis://h:0", "redis://h:99999", "redis://user@h", "unix:relative", "redis://[::1"])
    func badEndpointsAreRefused(text: String) {
        #expect(throws: Settings.Invalid.self) { try RedisEndpoint(parsing: text) }
    }

    @Test func namesAreChecked() throws {
        #expect(throws: Settings.Invalid.self) { try Settings.resolve(file: nil, flags: [("node-name", "a b")]) }
        #expect(throws: Settings.Invalid.self) { try Settings.resolve(file: nil, flags: [("room", "a{b}")]) }
        #expect(try Settings.resolve(file: nil, flags: [("room", "hall-2")]).roomName == "hall-2")
        #expect(Settings().redis == nil)
    }

    @Test(arguments: [
        ClusterMessage.Body.line("alice: hi: there 5:x", kept: true),
        .line("", kept: false),
        .joined(nick: "ünïcode"),
        .left(nick: "bob"),
        .nodeGone(nicks: ["a", "b:c", ""]),
        .nodeGone(nicks: []),
        .linkMarker,
        .privateMessage(from: "a", to: "b", text: "12:34"),
        .kick(nick: "a", reason: nil, by: "admin"),
        .kick(nick: "a", reason: "spam", by: "admin"),
        .topic(text: nil, setBy: "admin", setAt: 17),
        .topic(text: "News", setBy: "admin", setAt: -1),
    ])
    func messagesRoundTrip(body: ClusterMessage.Body) {
        let message = ClusterMessage(node: "host-1", sequence: 42, body: body)
        let decoded = message.encoded().withUnsafeBytes(ClusterMessage.init(decoding:))
        #expect(decoded == message)
    }

    @Test(arguments: ["", "1", "2L4:node1:1", "1L4:node", "1X4:node1:1", "1L4:node1:x0:1:a", "1L99999999999:x"])
    func malformedMessagesAreIgnored(text: String) {
        #expect(Array(text.utf8).withUnsafeBytes(ClusterMessage.init(decoding:)) == nil)
    }

    /// The Lua scripts write this form by hand.
    @Test func theScriptsFormDecodes() {
        let gone = Array("1G5:node21:03:ann3:bob".utf8).withUnsafeBytes(ClusterMessage.init(decoding:))
        #expect(gone == ClusterMessage(node: "node2", sequence: 0, body: .nodeGone(nicks: ["ann", "bob"])))
        let marker = Array("1N5:node11:7".utf8).withUnsafeBytes(ClusterMessage.init(decoding:))
        #expect(marker == ClusterMessage(node: "node1", sequence: 7, body: .linkMarker))
    }
}
