import Bytes
import ChatProtocol
import Foundation
import Glibc
import Testing

/// The real daemon on an ephemeral loopback port, driven through real sockets.
@Suite("chatroomd over real sockets")
struct DaemonIntegrationTests {
    @Test func threeClients_joinAndChat_everyoneSeesEveryMessageInOrder() throws {
        let daemon = try DaemonProcess()
        let alice = try TestClient.joined("alice", port: daemon.port)
        let bob = try TestClient.joined("bob", port: daemon.port)
        try alice.expect("bob has joined the chat!")
        let carol = try TestClient.joined("carol", port: daemon.port)
        try alice.expect("carol has joined the chat!")
        try bob.expect("carol has joined the chat!")

        var expected: [String] = []
        for round in 0..<5 {
            for (name, client) in [("alice", alice), ("bob", bob), ("carol", carol)] {
                client.send("message \(round) from \(name) ✓")
                expected.append("\(name): message \(round) from \(name) ✓")
            }
        }
        for client in [alice, bob, carol] {
            var seen: [String] = []
            for _ in expected { seen.append(try #require(try client.receive())) }
            // Each sender's own messages keep their order, and all members see one global order.
            #expect(Set(seen) == Set(expected))
            for name in ["alice", "bob", "carol"] {
                #expect(seen.filter { $0.hasPrefix("\(name):") } == expected.filter { $0.hasPrefix("\(name):") })
            }
        }
    }

    @Test func allMembers_seeTheSameGlobalOrder() throws {
        let daemon = try DaemonProcess()
        let clients = try (0..<4).map { try TestClient.joined("user\($0)", port: daemon.port) }
        for (i, client) in clients.enumerated() {
            for j in (i + 1)..<clients.count { _ = j; try client.expect("user\(j) has joined the chat!") }
        }
        for round in 0..<10 { for (i, client) in clients.enumerated() { client.send("r\(round) u\(i)") } }
        let sequences = try clients.map { client in try (0..<40).map { _ in try #require(try client.receive()) } }
        for sequence in sequences.dropFirst() { #expect(sequence == sequences[0]) }
    }

    @Test func adminKick_targetIsToldThenDisconnected_andMayRejoin() throws {
        let daemon = try DaemonProcess(adminHash: DaemonProcess.adminPasswordHash)
        let bob = try TestClient.joined("bob", port: daemon.port)
        let admin = try TestClient(port: daemon.port)
        admin.send("admin:\(DaemonProcess.adminPassword)")
        try admin.expect("Connected to the server")
        try admin.expect("An admin has joined the chat!")
        try bob.expect("An admin has joined the chat!")
        let carol = try TestClient.joined("carol", port: daemon.port)
        try bob.expect("carol has joined the chat!")
        try admin.expect("carol has joined the chat!")

        admin.send("/kick bob")
        try bob.expect("You have been kicked by an admin.")
        try bob.expectClosed()
        try admin.expect("bob has been kicked from the server.")
        try carol.expect("bob has been kicked from the server.")
        try daemon.waitForLog(containing: "chat_event=kick")

        let again = try TestClient.joined("bob", port: daemon.port)
        try carol.expect("bob has joined the chat!")
        again.send("back")
        try again.expect("bob: back")
    }

    @Test func adminBan_bansTheTargetsAddress_notTheAdmins() throws {
        let daemon = try DaemonProcess(adminHash: DaemonProcess.adminPasswordHash)
        let admin = try TestClient(port: daemon.port, source: "127.0.0.1")
        admin.send("admin:\(DaemonProcess.adminPassword)")
        try admin.expect("Connected to the server")
        try admin.expect("An admin has joined the chat!")
        let mallory = try TestClient.joined("mallory", port: daemon.port, source: "127.0.0.2")
        try admin.expect("mallory has joined the chat!")

        admin.send("/ban mallory")
        try mallory.expect("You have been banned by an admin.")
        try mallory.expectClosed()
        try admin.expect("mallory has been banned from the server.")

        // Another nickname from the banned address is refused at once.
        let retry = try TestClient(port: daemon.port, source: "127.0.0.2")
        retry.send("NICK:innocent")
        try retry.expect("You are banned from this server.")
        try retry.expectClosed()

        // Another address still joins, and so does the admin's own.
        let carol = try TestClient.joined("carol", port: daemon.port, source: "127.0.0.3")
        try admin.expect("carol has joined the chat!")
        let dave = try TestClient.joined("dave", port: daemon.port, source: "127.0.0.1")
        try carol.expect("dave has joined the chat!")
        dave.send("hi")
        try dave.expect("dave: hi")
    }

    @Test func wrongAdminPassword_isRefusedAndClosed() throws {
        let daemon = try DaemonProcess(adminHash: DaemonProcess.adminPasswordHash)
        let client = try TestClient(port: daemon.port)
        client.send("admin:guess")
        try client.expect("Incorrect password.")
        try client.expectClosed()
        try daemon.waitForLog(containing: "chat_event=admin-login-failed")
    }

    @Test func duplicateNick_caseInsensitive_isRefused() throws {
        let daemon = try DaemonProcess()
        let first = try TestClient.joined("Alice", port: daemon.port)
        let second = try TestClient(port: daemon.port)
        second.send("NICK:alice")
        try second.expect("The nickname alice is already in use. Choose another one.")
        try second.expectClosed()
        first.send("still the only alice")
        try first.expect("Alice: still the only alice")
    }

    @Test(arguments: [
        ("malformed header", Array("12ab".utf8) + Array(repeating: UInt8(ascii: " "), count: 60), "malformed frame header"),
        ("oversize length", Array("999999999".utf8) + Array(repeating: UInt8(ascii: " "), count: 55), "frame too large"),
        ("invalid UTF-8", FrameEncoder.frame(bytes: [0x68, 0x69, 0xC3, 0x28]).array, "not valid UTF-8"),
    ])
    func badInput_getsOneErrorFrameThenClose_othersCarryOn(name: String, bytes: [UInt8], problem: String) throws {
        let daemon = try DaemonProcess()
        let bystander = try TestClient.joined("bystander", port: daemon.port)
        let offender = try TestClient.joined("offender", port: daemon.port)
        try bystander.expect("offender has joined the chat!")
        offender.sendRaw(bytes)
        let error = try #require(try offender.receive())
        #expect(error.hasPrefix("Protocol error:"), "\(name)")
        #expect(error.contains(problem), "\(name): \(error)")
        try offender.expectClosed()
        try bystander.expect("[CLIENT DISCONNECT - offender]")
        bystander.send("still here")
        try bystander.expect("bystander: still here")
        try daemon.waitForLog(containing: "chat_event=protocol-error")
    }

    @Test func abruptDisconnectMidFrame_isALeave_andNothingLeaksToOthers() throws {
        let daemon = try DaemonProcess()
        let alice = try TestClient.joined("alice", port: daemon.port)
        let bob = try TestClient.joined("bob", port: daemon.port)
        try alice.expect("bob has joined the chat!")
        let frame = FrameEncoder.frame("this never completes").array
        bob.sendRaw(Array(frame[..<70]))
        bob.abort()
        try alice.expect("[CLIENT DISCONNECT - bob]")
        alice.send("anyone?")
        try alice.expect("alice: anyone?")
    }

    @Test func bangDC_leaves_andTheRestAreTold() throws {
        let daemon = try DaemonProcess()
        let alice = try TestClient.joined("alice", port: daemon.port)
        let bob = try TestClient.joined("bob", port: daemon.port)
        try alice.expect("bob has joined the chat!")
        bob.send("!DC")
        try bob.expectClosed()
        try alice.expect("[CLIENT DISCONNECT - bob]")
    }

    @Test func frameSplitIntoSingleBytes_isReassembled() throws {
        let daemon = try DaemonProcess()
        let alice = try TestClient(port: daemon.port)
        for byte in FrameEncoder.frame("NICK:alice").array { alice.sendRaw([byte]) }
        try alice.expect("Connected to the server")
        try alice.expect("alice has joined the chat!")
        // Two frames in one write.
        alice.sendRaw(FrameEncoder.frame("one").array + FrameEncoder.frame("two").array)
        try alice.expect("alice: one")
        try alice.expect("alice: two")
    }

    @Test func sigterm_withMembersConnected_noticeThenCloseThenExitZero() throws {
        let daemon = try DaemonProcess()
        let alice = try TestClient.joined("alice", port: daemon.port)
        let bob = try TestClient.joined("bob", port: daemon.port)
        try alice.expect("bob has joined the chat!")
        let greeter = try TestClient(port: daemon.port)  // connected, never joined
        daemon.signal(SIGTERM)
        try alice.expect("Server is shutting down.")
        try alice.expectClosed()
        try bob.expect("Server is shutting down.")
        try bob.expectClosed()
        try greeter.expectClosed()
        #expect(try daemon.waitForExit() == 0)
        // Everyone closed their end, so the daemon stopped without dropping anyone.
        #expect(!daemon.stderr.contains("grace period over"))
        #expect(daemon.stderr.contains("chat_event=stop"))
    }

    @Test func adminLoginWithoutConfiguredHash_isRefusedWithReason() throws {
        let daemon = try DaemonProcess()
        try daemon.waitForLog(containing: "Admin login is disabled")
        let client = try TestClient(port: daemon.port)
        client.send("admin:anything")
        let reply = try #require(try client.receive())
        #expect(reply.contains("Admin login is disabled"))
        try client.expectClosed()
    }
}
