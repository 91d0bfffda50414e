import Glibc

/// The machine a run happened on, for the record next to its numbers.
struct MachineInfo {
    var processors: Int
    var cpuModel: String
    var kernel: String
    var date: String
    var swiftVersion: String
    var memory: String

    static func current() -> MachineInfo {
        let cpuinfo = ProcessStats.readText("/proc/cpuinfo") ?? ""
        let model = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }
            .flatMap { $0.split(separator: ":", maxSplits: 1).last }
            .map { String($0.drop { $0 == " " || $0 == "\t" }) } ?? "unknown"
        var names = utsname()
        uname(&names)
        let kernel = withUnsafeBytes(of: &names.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let machine = withUnsafeBytes(of: &names.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let meminfo = ProcessStats.readText("/proc/meminfo") ?? ""
        let memoryKB = meminfo.split(separator: "\n").first { $0.hasPrefix("MemTotal:") }
            .map { Double(String($0.filter { $0.isNumber })) ?? 0 } ?? 0
        return MachineInfo(processors: Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))),
                           cpuModel: model,
                           kernel: "Linux \(kernel) \(machine)",
                           date: utcNow(),
                           swiftVersion: commandOutput("swift --version 2>/dev/null") ?? "unknown",
                           memory: Format.bytes(memoryKB * 1024))
    }

    var text: String {
        "\(processors) CPUs (nproc) \(cpuModel), \(memory) RAM, \(kernel), \(swiftVersion)"
    }

    var json: JSON {
        .object([("nproc", .int(Int64(processors))), ("cpu", .string(cpuModel)), ("memory", .string(memory)),
                 ("kernel", .string(kernel)), ("swift", .string(swiftVersion)), ("date", .string(date))])
    }

    static func utcNow() -> String {
        var now = time(nil)
        var parts = tm()
        gmtime_r(&now, &parts)
        var buffer = [CChar](repeating: 0, count: 64)
        let count = strftime(&buffer, buffer.count, "%Y-%m-%d %H:%M UTC", &parts)
        return String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The first line a shell command prints, or nil.
    static func commandOutput(_ command: String) -> String? {
        guard let pipe = popen(command, "r") else { return nil }
        defer { pclose(pipe) }
        var buffer = [CChar](repeating: 0, count: 512)
        guard fgets(&buffer, Int32(buffer.count), pipe) != nil else { return nil }
        let line = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let trimmed = line.split(separator: "\n").first.map(String.init) ?? ""
        return trimmed.isEmpty ? nil : trimmed
    }
}
