/// Nanosecond latencies in a fixed, log-linear (HDR-style) histogram: exact below
/// 256 ns, then 128 buckets per power of two, so any reported percentile is within
/// 0.8 % of the true value. Recording is one index computation and one increment into
/// preallocated memory: nothing is allocated per delivery.
final class LatencyHistogram {
    static let exactLimit = 256
    static let subBuckets = 128
    static let bucketCount = exactLimit + 56 * subBuckets

    /// Bucket counters; the receive path increments them directly.
    let counts: UnsafeMutablePointer<UInt64>
    private(set) var maximum: UInt64 = 0
    private(set) var minimum: UInt64 = .max

    init() {
        counts = .allocate(capacity: Self.bucketCount)
        counts.initialize(repeating: 0, count: Self.bucketCount)
    }

    deinit { counts.deallocate() }

    @inline(__always)
    static func bucket(_ value: UInt64) -> Int {
        if value < UInt64(exactLimit) { return Int(value) }
        let shift = 63 - value.leadingZeroBitCount - 7  // keep the top 8 bits: 128...255
        return exactLimit + (shift - 1) * subBuckets + Int(truncatingIfNeeded: value >> UInt64(shift)) - subBuckets
    }

    /// The middle of a bucket's range: the value reported for samples in it.
    static func representative(_ bucket: Int) -> UInt64 {
        if bucket < exactLimit { return UInt64(bucket) }
        let shift = (bucket - exactLimit) / subBuckets + 1
        let top = UInt64((bucket - exactLimit) % subBuckets + subBuckets)
        return (top << UInt64(shift)) + (UInt64(1) << UInt64(shift)) / 2
    }

    @inline(__always)
    func record(_ value: UInt64) {
        counts[Self.bucket(value)] &+= 1
    }

    /// Folds in the extremes seen by a batch of `record` calls.
    func noteExtremes(minimum low: UInt64, maximum high: UInt64) {
        if high > maximum { maximum = high }
        if low < minimum { minimum = low }
    }

    func reset() {
        counts.update(repeating: 0, count: Self.bucketCount)
        maximum = 0
        minimum = .max
    }

    var total: UInt64 {
        var sum: UInt64 = 0
        for i in 0..<Self.bucketCount { sum &+= counts[i] }
        return sum
    }

    /// The value at or below which `fraction` of the samples fall (nearest rank), never
    /// above the true maximum. nil when empty.
    func percentile(_ fraction: Double) -> UInt64? {
        let count = total
        guard count > 0 else { return nil }
        if fraction >= 1 { return maximum }
        var rank = UInt64((fraction * Double(count)).rounded(.up))
        if rank < 1 { rank = 1 }
        var seen: UInt64 = 0
        for i in 0..<Self.bucketCount {
            seen &+= counts[i]
            if seen >= rank { return min(max(Self.representative(i), minimum), maximum) }
        }
        return maximum
    }

    /// p50, p99, p99.9 and max in one summary.
    func summary() -> LatencySummary {
        LatencySummary(count: total,
                       p50: percentile(0.50), p99: percentile(0.99), p999: percentile(0.999),
                       max: total > 0 ? maximum : nil)
    }
}

struct LatencySummary {
    var count: UInt64
    var p50: UInt64?
    var p99: UInt64?
    var p999: UInt64?
    var max: UInt64?

    var text: String {
        guard count > 0 else { return "no samples" }
        return "p50 \(Format.duration(p50)), p99 \(Format.duration(p99)), p99.9 \(Format.duration(p999)), max \(Format.duration(max))"
    }

    func json(prefix: String = "latency") -> [(String, JSON)] {
        [("\(prefix)_samples", .int(Int64(count))),
         ("\(prefix)_p50_us", Format.microseconds(p50)),
         ("\(prefix)_p99_us", Format.microseconds(p99)),
         ("\(prefix)_p999_us", Format.microseconds(p999)),
         ("\(prefix)_max_us", Format.microseconds(max))]
    }
}
