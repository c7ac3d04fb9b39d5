import Foundation

/// A mergeable quantile sketch of durations in seconds (DDSketch-style logarithmic buckets).
///
/// Every value lands in bucket `i = ceil(log_γ(x))`, which covers `(γ^(i-1), γ^i]` with
/// `γ = (1 + α) / (1 − α)`. Reporting `2γ^i / (γ + 1)` for a bucket is within `α` of every value
/// in it, and the buckets keep the order of the values, so the bucket that holds the
/// nearest-rank sample yields a value within `α` = 1 % of that sample (docs/slo.md).
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
    /// `0x01, varint zeroCount, varint bucketCount`, then per non-empty bucket in ascending index
    /// order `varint(key << 1 | more)` where `key` is the zigzag-encoded index for the first
    /// bucket and the gap to the previous index after it, and `more` says a `varint count`
    /// follows (absent: the count is 1, the usual case in a minute or an hour of probes), so a
    /// stored sketch is a few bytes (bench/storage shows the bytes per probe).
    public func serialized() -> [UInt8] {
        var out: [UInt8] = [1]
        out.reserveCapacity(8 + counts.count * 3)
        Varint.put(UInt64(zeroCount), into: &out)
        Varint.put(UInt64(counts.count(where: { $0 != 0 })), into: &out)
        var previous: Int?
        for (i, c) in counts.enumerated() where c != 0 {
            Self.putBucket(offset + i, count: c, after: previous, into: &out)
            previous = offset + i
        }
        return out
    }

    private static func putBucket(_ index: Int, count: Int, after previous: Int?, into out: inout [UInt8]) {
        let key = previous.map { UInt64(index - $0) } ?? UInt64(bitPattern: Int64((index << 1) ^ (index >> 63)))
        Varint.put(key << 1 | (count > 1 ? 1 : 0), into: &out)
        if count > 1 { Varint.put(UInt64(count), into: &out) }
    }

    public init(serialized bytes: some Collection<UInt8>) throws(DecodingError) {
        var reader = try SparseReader(Array(bytes))
        var entries: [(index: Int, count: Int)] = []
        entries.reserveCapacity(reader.buckets)
        while let entry = try reader.next() { entries.append(entry) }
        zeroCount = reader.zeroCount
        count = reader.total
        if let first = entries.first, let last = entries.last {
            // One allocation: decoding runs for every rollup row a query touches.
            offset = first.index
            counts = Array(repeating: 0, count: last.index - first.index + 1)
            for entry in entries { counts[entry.index - offset] = entry.count }
        }
    }

    /// `LatencySketch(serialized: a).merged(with: LatencySketch(serialized: b)).serialized()`,
    /// computed on the binary forms directly (a merge of two sorted lists, no dense arrays): the
    /// store does this for every rollup row an insert touches.
    public static func mergeSerialized(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) throws(DecodingError) -> [UInt8] {
        var ra = try SparseReader(Array(a))
        var rb = try SparseReader(Array(b))
        var body: [UInt8] = []
        body.reserveCapacity(a.count + b.count)
        var buckets = 0
        var previous: Int?
        func emit(_ index: Int, _ count: Int) {
            putBucket(index, count: count, after: previous, into: &body)
            previous = index
            buckets += 1
        }
        var x = try ra.next()
        var y = try rb.next()
        while true {
            switch (x, y) {
            case (nil, nil):
                guard !ra.total.addingReportingOverflow(rb.total).overflow else { throw DecodingError(reason: "count overflow") }
                var out: [UInt8] = [1]
                out.reserveCapacity(body.count + 12)
                Varint.put(UInt64(ra.zeroCount + rb.zeroCount), into: &out)
                Varint.put(UInt64(buckets), into: &out)
                out += body
                return out
            case (let p?, nil):
                emit(p.index, p.count)
                x = try ra.next()
            case (nil, let q?):
                emit(q.index, q.count)
                y = try rb.next()
            case (let p?, let q?):
                if p.index < q.index {
                    emit(p.index, p.count)
                    x = try ra.next()
                } else if q.index < p.index {
                    emit(q.index, q.count)
                    y = try rb.next()
                } else {
                    emit(p.index, p.count + q.count)
                    x = try ra.next()
                    y = try rb.next()
                }
            }
        }
    }

    /// Reads the binary form bucket by bucket, checking everything `init(serialized:)` promises.
    private struct SparseReader {
        var reader: ByteReader
        let zeroCount: Int
        let buckets: Int
        private var read = 0
        private var index = 0
        /// Sum of the counts read so far, zero bucket included.
        private(set) var total: Int

        init(_ bytes: [UInt8]) throws(DecodingError) {
            reader = ByteReader(bytes: bytes)
            guard try reader.byte() == 1 else { throw DecodingError(reason: "unknown version") }
            zeroCount = try reader.count()
            buckets = try reader.count()
            total = zeroCount
            guard buckets <= LatencySketch.maxIndex - LatencySketch.minIndex + 1 else { throw DecodingError(reason: "too many buckets") }
        }

        mutating func next() throws(DecodingError) -> (index: Int, count: Int)? {
            guard read < buckets else {
                guard reader.atEnd else { throw DecodingError(reason: "trailing bytes") }
                return nil
            }
            let word = try reader.varint()
            let key = word >> 1
            if read == 0 {
                index = Int(Int64(bitPattern: key >> 1) ^ -Int64(bitPattern: key & 1))
            } else {
                guard key >= 1, key <= UInt64(LatencySketch.maxIndex - LatencySketch.minIndex) else {
                    throw DecodingError(reason: "bad index gap")
                }
                index += Int(key)
            }
            guard index >= LatencySketch.minIndex, index <= LatencySketch.maxIndex else { throw DecodingError(reason: "index out of range") }
            var c = 1
            if word & 1 == 1 {
                c = try reader.count()
                // A count of 1 is always written without `more`: one sketch, one encoding.
                guard c > 1 else { throw DecodingError(reason: "non-canonical count") }
            }
            let (sum, overflow) = total.addingReportingOverflow(c)
            guard !overflow else { throw DecodingError(reason: "count overflow") }
            total = sum
            read += 1
            return (index, c)
        }
    }

    /// `Varint.Reader` with this type's error.
    private struct ByteReader {
        private var inner: Varint.Reader

        init(bytes: [UInt8]) {
            inner = Varint.Reader(bytes: bytes)
        }

        var atEnd: Bool { inner.atEnd }

        mutating func byte() throws(DecodingError) -> UInt8 {
            do { return try inner.byte() } catch { throw DecodingError(reason: error.reason) }
        }

        mutating func varint() throws(DecodingError) -> UInt64 {
            do { return try inner.varint() } catch { throw DecodingError(reason: error.reason) }
        }

        mutating func count() throws(DecodingError) -> Int {
            do { return try inner.count() } catch { throw DecodingError(reason: error.reason) }
        }
    }
}
