import Glibc

/// The yardstick every run is compared with: `Tests/bench/ref_fanout.c`, a minimal
/// single-threaded C epoll + writev fan-out server (shared frames, no rules, no limits)
/// that speaks the same framing. It is built with `cc -O2` the first time it is needed
/// (and again whenever the source is newer than the binary), then spawned beside
/// chatroomd so that both are measured in the same run, on the same machine at the same
/// moment: the ratio stays meaningful when other work makes the absolute figures move.
///
/// What it supports: `NICK:<nick>` (answered with `Connected to the server`, then
/// `<nick> has joined the chat!` to every member, the newcomer included), `!DC`, and chat
/// lines relayed as `<nick>: <text>` to everyone, the sender included. No history, no
/// leave notices, no limits: the fanout, idle (join storm) and churn scenarios run
/// against it unchanged; the never-reading-members scenario does not (it has no queue bound
/// unless started with -q).
enum ReferenceServer {
    static let defaultSource = "Tests/bench/ref_fanout.c"
    static let buildDirectory = ".build-bench"

    /// An executable for `path`: the path itself if it is a binary, else (a `.c` file) the
    /// binary built from it in `.build-bench/`.
    static func binary(for path: String) throws(BenchError) -> String {
        guard path.hasSuffix(".c") else {
            guard access(path, X_OK) == 0 else { throw BenchError("the reference server \(path) is not an executable (or a .c file to build)") }
            return path
        }
        guard let source = modificationTime(path) else {
            throw BenchError("the reference server's source \(path) is missing (run from the repository's top directory, or give --reference)")
        }
        let name = String(path.split(separator: "/").last!.dropLast(2))
        let output = "\(buildDirectory)/\(name)"
        if let built = modificationTime(output), built >= source, access(output, X_OK) == 0 { return output }
        _ = mkdir(buildDirectory, 0o755)
        // cc (gcc on Debian), else the clang that comes with the Swift toolchain.
        for compiler in ["cc", "clang"] {
            print("building the C reference server: \(compiler) -O2 -o \(output) \(path)")
            guard let status = try run([compiler, "-O2", "-o", output, path]) else { continue }
            guard status == 0 else { throw BenchError("\(compiler) -O2 -o \(output) \(path) failed (exit status \(status))") }
            return output
        }
        throw BenchError("no C compiler (cc or clang) to build \(path) with; install gcc, or give --no-reference")
    }

    private static func modificationTime(_ path: String) -> Int? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return info.st_mtim.tv_sec * 1_000_000_000 + info.st_mtim.tv_nsec
    }

    /// Runs a command to completion, with the bench's own output; its exit status, or nil
    /// if there is no such program.
    private static func run(_ arguments: [String]) throws(BenchError) -> Int32? {
        var pid: pid_t = 0
        let argv = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        let result = posix_spawnp(&pid, arguments[0], nil, nil, argv, environ)
        if result == ENOENT { return nil }
        guard result == 0 else { throw BenchError("cannot run \(arguments[0]): \(String(cString: strerror(result)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { throw BenchError("waitpid: \(Connector.lastError())") }
        }
        // WIFEXITED / WEXITSTATUS by hand: Glibc's macros are not imported.
        return status & 0x7F == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
    }
}
