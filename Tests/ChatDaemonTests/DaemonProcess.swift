import Foundation

/// The real `chatroomd` binary, started on an ephemeral loopback port for one test.
/// Its stderr is collected by a reader thread; tests wait on it with deadlines.
final class DaemonProcess {
    let process = Process()
    private let output = CollectedOutput()
    private(set) var port: UInt16 = 0

    static let adminPassword = "s3cret-admin"
    /// SHA-256 of `adminPassword`.
    static let adminPasswordHash = "77a4e206296282b0c1acebc0bebff60856cf558f731762d241cb9be07b60119a"

    static var binaryPath: String {
        if let path = ProcessInfo.processInfo.environment["CHATROOMD_BIN"] { return path }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/chatroomd").path
    }

    init(arguments: [String] = [], adminHash: String? = nil, listen: String = "127.0.0.1:0") throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binaryPath) else {
            throw TestFailure("chatroomd not built at \(Self.binaryPath); run `swift build` (make test does)")
        }
        process.executableURL = URL(fileURLWithPath: Self.binaryPath)
        var args = ["--listen", listen, "--log-level", "debug", "--shutdown-grace", "2"] + arguments
        if let adminHash { args += ["--admin-password-hash", adminHash] }
        process.arguments = args
        var environment = ProcessInfo.processInfo.environment
        environment["CHATROOMD_ADMIN_PASSWORD_HASH"] = nil
        process.environment = environment
        let pipe = Pipe()
        process.standardError = pipe
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        output.collect(from: pipe.fileHandleForReading)
        let line = try waitForLog(containing: "listening on ", timeout: 10)
        guard let range = line.range(of: #"listening on \S+:(\d+)"#, options: .regularExpression),
              let port = UInt16(line[range].split(separator: ":").last ?? "") else {
            throw TestFailure("no port in: \(line)")
        }
        self.port = port
    }

    /// Every test's daemon is stopped when the test lets go of it, pass or fail.
    deinit {
        if process.isRunning { process.terminate() }
    }

    var stderr: String { output.text }

    /// Waits until the daemon's stderr contains `text`; returns that line.
    @discardableResult
    func waitForLog(containing text: String, timeout: TimeInterval = 5) throws -> String {
        try output.waitForLine(containing: text, timeout: timeout)
    }

    func signal(_ signal: Int32) { kill(process.processIdentifier, signal) }

    /// Waits for exit (deadline) and returns the exit status.
    func waitForExit(timeout: TimeInterval = 10) throws -> Int32 {
        try output.waitForEnd(timeout: timeout)
        process.waitUntilExit()
        return process.terminationStatus
    }
}

/// A child's stderr, collected by a reader thread. Kept apart from `DaemonProcess` so
/// the thread does not keep the process object (and so the daemon) alive.
final class CollectedOutput: @unchecked Sendable {
    // @unchecked: every field is read and written under `condition`.
    private let condition = NSCondition()
    private var log = ""
    private var finished = false

    func collect(from handle: FileHandle) {
        Thread { [self] in
            while true {
                let data = handle.availableData
                condition.lock()
                if data.isEmpty { finished = true } else { log += String(decoding: data, as: UTF8.self) }
                condition.broadcast()
                condition.unlock()
                if data.isEmpty { return }
            }
        }.start()
    }

    var text: String {
        condition.lock()
        defer { condition.unlock() }
        return log
    }

    func waitForLine(containing text: String, timeout: TimeInterval) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        condition.lock()
        defer { condition.unlock() }
        while true {
            if let line = log.split(separator: "\n").first(where: { $0.contains(text) }) { return String(line) }
            if finished { throw TestFailure("chatroomd exited before logging '\(text)'. Log:\n\(log)") }
            if !condition.wait(until: deadline) { throw TestFailure("no '\(text)' in chatroomd's log within \(timeout) s. Log:\n\(log)") }
        }
    }

    func waitForEnd(timeout: TimeInterval) throws {
        let deadline = Date().addingTimeInterval(timeout)
        condition.lock()
        defer { condition.unlock() }
        while !finished {
            if !condition.wait(until: deadline) { throw TestFailure("chatroomd did not exit within \(timeout) s") }
        }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
