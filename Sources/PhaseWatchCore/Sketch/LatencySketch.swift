import Foundation

/// A mergeable quantile sketch of durations in seconds (DDSketch-style logarithmic buckets).
///
/// Every value lands in bucket `i = ceil(log_γ(x))`, which covers `(γ^(i-1), γ^i]` with
/// `γ = (1 + α) / (1 − α)`. Reporting `2γ^i / (γ + 1)` for a bucket is within `α` of every value
/// in it, and the buckets keep the order of the values, so the bucket that holds the
/// nearest-rank sample yields a value within `α` = 1 % of that sample (contract §6).
/// Values of at most 1 µs (a skipped TLS phase is 0) share one zero bucket reported as 0.
///
/// Sketches add up exactly: merging the sketches of two sets of probes gives the sketch of
/// their union, which is what lets the store keep one per minute and per hour and answer any
/// window from them.
public struct LatencySketch: Sendable, Equatable {
    /// The relative accuracy α of quantiles.
    public static let relativeAccuracy = 0.01
    /// Values at or below this many seconds count in the zero bucket.
    public static let minTrackedValue = 1e-6
    /// Larger values are clamped to this (about 31 years), which bounds the bucket range.
    public static let maxTrackedValue = 1e9

    static let gamma = (1 + relativeAccuracy) / (1 - relativeAccuracy)
    static let logGamma = log(gamma)
    static let minIndex = rawIndex(minTrackedValue)
    static let maxIndex = rawIndex(maxTrackedValue)

    /// Number of values added (merged sketches included).
    public private(set) var count: Int = 0
    private var zeroCount: Int = 0
    /// Bucket index of `counts[0]`.
    private var offset: Int = 0
    /// Dense counts from `offset` on; empty, or with non-zero first and last elements, so that
    /// equal contents compare equal.
    private var counts: [Int] = []

    public init() {}

    public init(_ values: some Sequence<Double>) {
        for value in values { add(value) }
    }

    public var isEmpty: Bool { count == 0 }

    /// Adds one duration in seconds. NaN is ignored; values ≤ 1 µs (and negative ones) count as 0.
    public mutating func add(_ seconds: Double) {
        guard !seconds.isNaN else { return }
        if seconds <= Self.minTrackedValue {
            zeroCount += 1
        } else {
            addToBucket(Self.rawIndex(min(seconds, Self.maxTrackedValue)), count: 1)
        }
        count += 1
    }

    /// Adds every value of `other` to this sketch.
    public mutating func merge(_ other: LatencySketch) {
        guard !other.isEmpty else { return }
        guard !isEmpty else {
            self = other
            return
        }
        zeroCount += other.zeroCount
        count += other.count
        guard !other.counts.isEmpty else { return }
        reserveRange(other.offset, other.offset + other.counts.count - 1)
        let shift = other.offset - offset
        for (i, c) in other.counts.enumerated() where c != 0 {
            counts[shift + i] += c
        }
    }

    public func merged(with other: LatencySketch) -> LatencySketch {
        var copy = self
        copy.merge(other)
        return copy
    }

    /// The nearest-rank `q`-quantile (`q` in [0, 1]) within 1 %: the value of the sample at rank
    /// `nearestRank(q, count)` in ascending order. nil when empty or `q` is outside [0, 1].
    public func quantile(_ q: Double) -> Double? {
        guard count > 0, q >= 0, q <= 1 else { return nil }
        let rank = Self.nearestRank(q, count: count)
        if rank <= zeroCount { return 0 }
        var seen = zeroCount
        for (i, c) in counts.enumerated() {
            seen += c
            if seen >= rank { return Self.value(ofBucket: offset + i) }
        }
        return Self.value(ofBucket: offset + counts.count - 1)  // unreachable: counts sum to count − zeroCount
    }

    /// Nearest rank of `q` among `count` sorted samples: the smallest `r` with `r / count ≥ q`,
    /// at least 1. A hair of slack keeps `0.9 × 10` (= 9.000000000000002 in binary) at rank 9.
    public static func nearestRank(_ q: Double, count: Int) -> Int {
        let exact = q * Double(count)
        let rank = Int((exact * (1 - 1e-12)).rounded(.up))
        return min(max(rank, 1), count)
    }

    // MARK: Buckets

    static func rawIndex(_ seconds: Double) -> Int {
        Int((log(seconds) / logGamma).rounded(.up))
    }

    static func value(ofBucket index: Int) -> Double {
        2 * exp(Double(index) * logGamma) / (gamma + 1)
    }

    private mutating func addToBucket(_ index: Int, count c: Int) {
        reserveRange(index, index)
        counts[index - offset] += c
    }

    /// Widens the dense array so that it spans bucket indices `low...high`.
    private mutating func reserveRange(_ low: Int, _ high: Int) {
        if counts.isEmpty {
            offset = low
            counts = Array(repeating: 0, count: high - low + 1)
            return
        }
        if low < offset {
            counts.insert(contentsOf: repeatElement(0, count: offset - low), at: 0)
            offset = low
        }
        let last = offset + counts.count - 1
        if high > last {
            counts.append(contentsOf: repeatElement(0, count: high - last))
        }
    }
}

// MARK: - Binary form

extension LatencySketch {
    public struct DecodingError: Error, Equatable, CustomStringConvertible {
        public let reason: String
        public var description: String { "invalid latency sketch: \(reason)" }
    }

    /// Format version 1, stored in SQLite BLOBs; frozen (a new layout gets a new version byte):
    /// `0x01, varint zeroCount, varint bucketCount, then per non-empty bucket in ascending index
    /// order: index (first: zigzag varint of the index; then varint of the gap to the previous
    /// index), varint count`. A sketch of one minute of probes is typically 10–30 bytes.
    public func serialized() -> [UInt8] {
        var out: [UInt8] = [1]
        out.reserveCapacity(8 + counts.count * 3)
        Self.putVarint(UInt64(zeroCount), into: &out)
        Self.putVarint(UInt64(counts.count(where: { $0 != 0 })), into: &out)
        var previous: Int?
        for (i, c) in counts.enumerated() where c != 0 {
            let index = offset + i
            if let previous {
                Self.putVarint(UInt64(index - previous), into: &out)
            } else {
                Self.putVarint(UInt64(bitPattern: Int64((index << 1) ^ (index >> 63))), into: &out)
            }
            Self.putVarint(UInt64(c), into: &out)
            previous = index
        }
        return out
    }

    public init(serialized bytes: some Collection<UInt8>) throws(DecodingError) {
        var reader = ByteReader(bytes: Array(bytes))
        guard try reader.byte() == 1 else { throw DecodingError(reason: "unknown version") }
        let zero = try reader.count()
        let buckets = try reader.count()
        guard buckets <= Self.maxIndex - Self.minIndex + 1 else { throw DecodingError(reason: "too many buckets") }
        var sketch = LatencySketch()
        sketch.zeroCount = zero
        sketch.count = zero
        var index = 0
        for n in 0..<buckets {
            if n == 0 {
                let zigzag = try reader.varint()
                index = Int(Int64(bitPattern: zigzag >> 1) ^ -Int64(bitPattern: zigzag & 1))
            } else {
                let gap = try reader.varint()
                guard gap >= 1, gap <= UInt64(Self.maxIndex - Self.minIndex) else { throw DecodingError(reason: "bad index gap") }
                index += Int(gap)
            }
            guard index >= Self.minIndex, index <= Self.maxIndex else { throw DecodingError(reason: "index out of range") }
            let c = try reader.count()
            guard c > 0 else { throw DecodingError(reason: "empty bucket") }
            sketch.addToBucket(index, count: c)
            let (sum, overflow) = sketch.count.addingReportingOverflow(c)
            guard !overflow else { throw DecodingError(reason: "count overflow") }
            sketch.count = sum
        }
        guard reader.atEnd else { throw DecodingError(reason: "trailing bytes") }
        self = sketch
    }

    static func putVarint(_ value: UInt64, into out: inout [UInt8]) {
        var v = value
        while v >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }

    private struct ByteReader {
        let bytes: [UInt8]
        var position = 0

        var atEnd: Bool { position == bytes.count }

        mutating func byte() throws(DecodingError) -> UInt8 {
            guard position < bytes.count else { throw DecodingError(reason: "truncated") }
            defer { position += 1 }
            return bytes[position]
        }

        mutating func varint() throws(DecodingError) -> UInt64 {
            var result: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                let b = try byte()
                guard shift < 64, shift < 63 || b <= 1 else { throw DecodingError(reason: "varint overflow") }
                result |= UInt64(b & 0x7f) << shift
                if b & 0x80 == 0 { return result }
                shift += 7
            }
        }

        /// A varint that must fit a non-negative Int.
        mutating func count() throws(DecodingError) -> Int {
            let v = try varint()
            guard v <= UInt64(Int.max) else { throw DecodingError(reason: "count overflow") }
            return Int(v)
        }
    }
}
