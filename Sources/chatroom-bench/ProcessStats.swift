import CLinux
import Glibc
import Reactor
import SystemCalls

/// What /proc says about a process at one instant: CPU time used so far and memory.
struct ProcessSample {
    /// utime + stime, in seconds (clock-tick resolution, usually 10 ms).
    var cpuSeconds: Double
    /// VmRSS: resident set now.
    var rssBytes: Int
    /// VmHWM: the largest resident set since the process started.
    var peakRSSBytes: Int
}

enum ProcessStats {
    static let clockTicksPerSecond: Double = {
        let ticks = sysconf(Int32(_SC_CLK_TCK))
        return ticks > 0 ? Double(ticks) : 100
    }()

    /// Reads /proc/PID/stat and /proc/PID/status; nil once the process is gone.
    static func sample(pid: pid_t) -> ProcessSample? {
        guard let stat = readSmallFile("/proc/\(pid)/stat"),
              let status = readSmallFile("/proc/\(pid)/status") else { return nil }
        // The command name (field 2) is in parentheses and may hold spaces: fields are
        // counted from the last ')'. utime and stime are fields 14 and 15.
        guard let close = stat.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        let fields = stat[(close + 1)...].split(separator: UInt8(ascii: " "))
        guard fields.count > 12, let utime = parseUInt(fields[11]), let stime = parseUInt(fields[12]) else { return nil }
        return ProcessSample(cpuSeconds: Double(utime + stime) / clockTicksPerSecond,
                             rssBytes: statusKilobytes(status, field: "VmRSS:") * 1024,
                             peakRSSBytes: statusKilobytes(status, field: "VmHWM:") * 1024)
    }

    /// This process's CPU time (all threads), nanosecond resolution.
    static func ownCPUSeconds() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }

    static func ownSample() -> ProcessSample? { sample(pid: getpid()) }

    /// A /proc file or a small text file, whole. nil if it cannot be opened.
    static func readSmallFile(_ path: String, limit: Int = 1 << 20) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { _ = Glibc.close(fd) }
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 8192)
        while result.count < limit {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            result.append(contentsOf: chunk[0..<count])
        }
        return result
    }

    static func readText(_ path: String) -> String? {
        readSmallFile(path).map { String(decoding: $0, as: UTF8.self) }
    }

    private static func statusKilobytes(_ status: [UInt8], field: String) -> Int {
        let text = String(decoding: status, as: UTF8.self)
        for line in text.split(separator: "\n") where line.hasPrefix(field) {
            let digits = line.dropFirst(field.count).filter { $0.isNumber }
            return Int(digits) ?? 0
        }
        return 0
    }

    private static func parseUInt(_ bytes: ArraySlice<UInt8>) -> UInt64? {
        var value: UInt64 = 0
        for byte in bytes {
            guard byte >= 48 && byte <= 57 else { return nil }
            value = value * 10 + UInt64(byte - 48)
        }
        return bytes.isEmpty ? nil : value
    }
}

/// Descriptors: the bench holds one per connection, and so does the daemon it spawns
/// (which inherits these limits).
enum DescriptorBudget {
    /// Raises the soft RLIMIT_NOFILE to the hard limit and checks that `needed` fit.
    /// Returns the limit now in force.
    @discardableResult
    static func raise(toFit needed: Int) throws(BenchError) -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else {
            throw BenchError("getrlimit(RLIMIT_NOFILE): \(String(cString: strerror(errno)))")
        }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        let available = limit.rlim_cur >= UInt(Int.max) ? Int.max : Int(limit.rlim_cur)  // RLIM_INFINITY is all ones
        guard needed <= available else {
            throw BenchError("""
                this run needs about \(needed) descriptors in the bench and as many in the daemon, \
                but RLIMIT_NOFILE allows \(available) per process (hard limit \(limit.rlim_max)). \
                Use fewer members, or raise the hard limit (ulimit -Hn, LimitNOFILE=).
                """)
        }
        return available
    }
}

/// A failure that ends a scenario, with a message for a person.
struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// CPU seconds between two samples of the same process, if both exist.
func cpuDelta(_ start: ProcessSample?, _ end: ProcessSample?) -> Double? {
    guard let start, let end else { return nil }
    return end.cpuSeconds - start.cpuSeconds
}

/// The whole machine's CPU time from /proc/stat, so a run can tell how much of the
/// machine went to processes other than the daemon and the generator (other work on a
/// shared machine skews every figure; this says by how much).
struct MachineCPUSample {
    /// user + nice + system + irq + softirq, in seconds over all CPUs. Softirq work done
    /// in a process's context is also in that process's stime (no IRQ time accounting), so
    /// busy − daemon − generator is what everything else used.
    var busySeconds: Double
    var stealSeconds: Double

    static func now() -> MachineCPUSample? {
        guard let text = ProcessStats.readText("/proc/stat"),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("cpu ") }) else { return nil }
        let values = line.split(separator: " ").dropFirst().compactMap { Double($0) }
        guard values.count >= 8 else { return nil }
        let ticks = ProcessStats.clockTicksPerSecond
        // user nice system idle iowait irq softirq steal
        return MachineCPUSample(busySeconds: (values[0] + values[1] + values[2] + values[5] + values[6]) / ticks,
                                stealSeconds: values[7] / ticks)
    }
}

/// Where the machine's CPU went during a window.
struct MachineLoad {
    var otherCores: Double
    var stealCores: Double

    /// nil if either sample is missing.
    init?(from start: MachineCPUSample?, to end: MachineCPUSample?, seconds: Double, server: Double?, generator: Double) {
        guard let start, let end, seconds > 0 else { return nil }
        let busy = end.busySeconds - start.busySeconds
        otherCores = max(0, busy - (server ?? 0) - generator) / seconds
        stealCores = max(0, end.stealSeconds - start.stealSeconds) / seconds
    }

    var text: String {
        var text = "other processes used \(Format.fixed(otherCores, 2)) cores meanwhile"
        if stealCores >= 0.01 { text += ", hypervisor steal \(Format.fixed(stealCores, 2))" }
        if otherCores >= 0.2 { text += " (WARNING: a busy machine; the figures are skewed)" }
        return text
    }

    static func json(_ load: MachineLoad?) -> [(String, JSON)] {
        [("other_processes_cores", load.map { .double($0.otherCores) } ?? .null),
         ("steal_cores", load.map { .double($0.stealCores) } ?? .null)]
    }
}

/// SIGINT, SIGTERM and SIGHUP are blocked for the whole run and looked for between loop
/// turns, so that an interrupted bench still stops the daemon it started instead of
/// leaving it behind. (A spawned daemon starts with an empty signal mask.)
enum Interruption {
    static let signals: [Int32] = [SIGINT, SIGTERM, SIGHUP]

    static func install() {
        _ = signals.withUnsafeBufferPointer { clinux_block_signals($0.baseAddress, Int32($0.count)) }
        signal(SIGPIPE, SIG_IGN)  // a write to a closed connection fails with EPIPE instead
    }

    static func check() throws(BenchError) {
        var set = sigset_t()
        sigemptyset(&set)
        guard sigpending(&set) == 0 else { return }
        for number in signals where sigismember(&set, number) == 1 {
            throw BenchError("interrupted by signal \(number); the daemon was stopped")
        }
    }
}

/// Waits, within a budget, for the rest of the machine to go quiet before a measured run:
/// on a shared machine other work skews every figure, latency most.
struct QuietMachine {
    var budgetSeconds: Double
    var waitedSeconds = 0.0
    /// Busy cores (everything, since no daemon or load is running yet) counted as quiet.
    var threshold = 0.15

    init(budgetSeconds: Double) { self.budgetSeconds = budgetSeconds }

    mutating func settle() throws(BenchError) {
        var announced = false
        while waitedSeconds < budgetSeconds {
            guard let start = MachineCPUSample.now() else { return }
            let began = MonotonicClock.now()
            usleep(500_000)
            try Interruption.check()
            guard let end = MachineCPUSample.now() else { return }
            let seconds = Double(MonotonicClock.now() - began) / 1e9
            let busy = (end.busySeconds - start.busySeconds) / seconds  // the bench itself is asleep
            if busy < threshold {
                if announced { print("  (the machine is quiet again)") }
                return
            }
            waitedSeconds += seconds
            if !announced {
                print("  (other processes are using \(Format.fixed(busy, 1)) cores; waiting up to \(Format.fixed(budgetSeconds - waitedSeconds, 0)) s more for them to finish)")
                announced = true
            }
        }
    }
}
