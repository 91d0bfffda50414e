// swift-tools-version:6.0
// libFuzzer targets for chatroomd (`make fuzz`). A package of its own so the main build
// never sees -sanitize=fuzzer. ChatProtocol, ChatCore and Bytes are the main package's own
// sources, reached through the symlinks in Sources/ (the main manifest exposes no library
// products); the checks are the test suite's files (Tests/ChatProtocolTests/*FuzzCheck.swift,
// Tests/ChatCoreTests/RoomFuzzCheck.swift), symlinked too, so a crash input replays through
// exactly the same logic in FuzzRegressionTests.
//
// Build: swift build -c release --scratch-path ../../.build-fuzz \
//          -Xswiftc -sanitize=fuzzer,address
// (main.swift hands over to LLVMFuzzerRunDriver: SwiftPM renames an executable's main, so
// libFuzzer's own main could not be used with -parse-as-library.)
import PackageDescription

let package = Package(
    name: "chatroomd-fuzz",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "fuzz-frame-decoder", targets: ["fuzz-frame-decoder"]),
        .executable(name: "fuzz-client-request", targets: ["fuzz-client-request"]),
        .executable(name: "fuzz-room", targets: ["fuzz-room"]),
        .executable(name: "fuzz-state-file", targets: ["fuzz-state-file"]),
    ],
    targets: [
        .target(name: "Bytes"),
        .target(name: "ChatProtocol", dependencies: ["Bytes"]),
        .target(name: "ChatCore", dependencies: ["ChatProtocol", "Bytes"]),
        .executableTarget(name: "fuzz-frame-decoder", dependencies: ["ChatProtocol", "Bytes"]),
        .executableTarget(name: "fuzz-client-request", dependencies: ["ChatProtocol"]),
        .executableTarget(name: "fuzz-room", dependencies: ["ChatCore", "ChatProtocol", "Bytes"]),
        // The daemon's state-file loader (Sources/ChatDaemon/StateFiles.swift, symlinked on
        // its own: it needs only ChatCore and Foundation's JSONDecoder).
        .executableTarget(name: "fuzz-state-file", dependencies: ["ChatCore"]),
    ],
    swiftLanguageModes: [.v6]
)
