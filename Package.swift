// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "chatroomd",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "chatroomd", targets: ["chatroomd"]),
        .executable(name: "chatroom", targets: ["chatroom"]),
        .executable(name: "chatroom-bench", targets: ["chatroom-bench"]),
        .executable(name: "chatroomctl", targets: ["chatroomctl"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // Linux headers that Glibc's module map leaves out (epoll, signalfd, timerfd, eventfd, accept4).
        .target(name: "CLinux", cSettings: [.define("_GNU_SOURCE")]),
        // Password hashing, for the daemon only: libcrypt (yescrypt and the other crypt(3)
        // formats) and libcrypto's SHA-256 for the seed's legacy hashes.
        .target(name: "CPasswordHash", linkerSettings: [.linkedLibrary("crypt"), .linkedLibrary("crypto")]),
        // OpenSSL 3 (libssl-dev) behind non-variadic wrappers: TLS for the reactor's connections.
        .target(name: "CTLS", linkerSettings: [.linkedLibrary("ssl"), .linkedLibrary("crypto")]),
        // Retrying on EINTR, writing everything, Unix socket addresses, the clocks, stderr.
        .target(name: "SystemCalls"),
        // Reference-counted immutable byte storage shared by the protocol encoder and the reactor's queues.
        .target(name: "Bytes"),
        // Framing and command syntax. No I/O.
        .target(name: "ChatProtocol", dependencies: ["Bytes"]),
        // The Room: chat rules as events in, effects out. No I/O, no clock reads.
        .target(name: "ChatCore", dependencies: ["ChatProtocol", "Bytes"]),
        // The epoll event loop. Knows nothing about chat.
        .target(name: "Reactor", dependencies: ["CLinux", "CTLS", "Bytes", "SystemCalls"]),
        // libsystemd: sd_notify, sd_listen_fds, sd_watchdog_enabled, sd_journal_sendv.
        .systemLibrary(name: "CSystemd", pkgConfig: "libsystemd", providers: [.apt(["libsystemd-dev"])]),
        // The only module that links libsystemd: readiness, watchdog, socket activation, journald logging.
        .target(name: "Systemd", dependencies: [
            "CSystemd",
            .product(name: "Logging", package: "swift-log"),
        ]),
        // ICU (libicu-dev): UTS #39 confusable skeletons, normalisation, character properties,
        // behind a C shim whose header shows Swift no ICU type (Foundation has its own ICU).
        .target(name: "CICU", linkerSettings: [.linkedLibrary("icui18n"), .linkedLibrary("icuuc")]),
        // hiredis's asynchronous API (libhiredis-dev): Redis connections as sockets on the
        // reactor, for a room spread over several daemons.
        .target(name: "CHiredis", linkerSettings: [.linkedLibrary("hiredis")]),
        // The daemon's nickname rules on ICU: invisible characters refused, confusables collide.
        .target(name: "NicknameProfile", dependencies: ["CICU", "ChatCore"]),
        // Terminal modes: passwords without echo, the client's raw-mode line editor.
        .target(name: "Terminal"),
        // Wires the Reactor to the Room.
        .target(name: "ChatDaemon", dependencies: [
            "Reactor", "ChatCore", "ChatProtocol", "Bytes", "Systemd", "CLinux", "CPasswordHash", "SystemCalls", "NicknameProfile", "CHiredis",
            .product(name: "Logging", package: "swift-log"),
        ]),
        // The terminal client's logic: connection, line editor, terminal modes.
        .target(name: "ChatClient", dependencies: ["CLinux", "CTLS", "ChatProtocol", "Bytes", "Terminal"]),
        .executableTarget(name: "chatroomd", dependencies: [
            "ChatDaemon", "ChatCore", "ChatProtocol", "Terminal", "Systemd",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "chatroom", dependencies: [
            "ChatClient", "ChatProtocol",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // Administration over the local control socket.
        .executableTarget(name: "chatroomctl", dependencies: [
            "ChatCore", "ChatProtocol", "Bytes", "SystemCalls",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // Load generator for `make bench`: many connections from one process on the Reactor.
        .executableTarget(name: "chatroom-bench", dependencies: [
            "Reactor", "ChatProtocol", "Bytes", "CLinux", "SystemCalls",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .testTarget(name: "ChatProtocolTests", dependencies: ["ChatProtocol", "Bytes"]),
        .testTarget(name: "ChatCoreTests", dependencies: ["ChatCore", "ChatProtocol", "Bytes"]),
        .testTarget(name: "ReactorTests", dependencies: ["Reactor", "Bytes", "CLinux", "SystemCalls"]),
        .testTarget(name: "ChatClientTests", dependencies: ["ChatClient"]),
        .testTarget(name: "SystemdTests", dependencies: [
            "Systemd",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "NicknameProfileTests", dependencies: ["NicknameProfile", "ChatCore"]),
        .testTarget(name: "ChatDaemonTests", dependencies: ["ChatDaemon", "ChatCore", "ChatProtocol", "Bytes", "Reactor", "SystemCalls", "CLinux"]),
    ],
    swiftLanguageModes: [.v6]
)
