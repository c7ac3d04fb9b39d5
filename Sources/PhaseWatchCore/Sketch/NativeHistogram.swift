/// A Prometheus native histogram (sparse, exponential buckets) of durations in seconds, in the
/// form the protobuf exposition format carries it: schema, zero bucket, count, sum, and bucket
/// counts that `positiveSpans` and `positiveDeltas` encode.
///
/// Bucket `i` of schema `s` covers `(base^(i-1), base^i]` with `base = 2^(2^-s)`, upper bound
/// included, as Prometheus defines it: bucket 0 ends at 1, and every power of two is a bound.
/// We use schema 5 (32 buckets per doubling, `base` ≈ 1.0219): a value read anywhere in its
/// bucket is within 2.2 % of the observation and the bucket's midpoint within 1.1 %, close to
/// the 1 % of `LatencySketch`, in a few dozen to a few hundred buckets for one target's latencies.
///
/// Values with `|v| ≤ zeroThreshold` count in the zero bucket. Negative values (a latency never
/// is one) go to negative buckets, the mirror image of the positive ones, as Prometheus counts
/// them, so `count` and `sum` stay exact. NaN and ±infinity are not observations: ignored.
///
/// Counts live in one dense array per sign, from the lowest to the highest index seen, so
/// `record` only allocates when a value falls outside that range (or on the first record after
/// a copy, which shares the array until then). Counts only grow, as Prometheus expects of a
/// histogram between resets.
public struct NativeHistogram: Sendable, Equatable {
    /// The schema phasewatch uses; see the type's comment.
    public static let defaultSchema: Int32 = 5
    /// 2^-30 s (about 0.93 ns): a power of two, hence a bucket bound at every schema, and far
    /// below the microsecond probes measure, so only exact zeros (a skipped phase) land in the
    /// zero bucket. Unlike a threshold near 0 it also keeps the lowest index at -960 (schema 5),
    /// so a stray tiny value cannot stretch the dense array over thousands of empty buckets.
    public static let defaultZeroThreshold: Double = 0x1p-30
    /// The schemas this type computes indices for: -4 (buckets of 2^16) to 5. Finer ones would
    /// need a longer table of bounds.
    public static let supportedSchemas: ClosedRange<Int32> = -4...5

    public let schema: Int32
    public let zeroThreshold: Double
    /// Observations recorded (NaN and infinities excluded): `zeroCount` plus every bucket's count.
    public private(set) var count: UInt64 = 0
    /// Sum of the observations recorded.
    public private(set) var sum: Double = 0
    /// Observations with `|v| ≤ zeroThreshold`.
    public private(set) var zeroCount: UInt64 = 0
    /// Buckets of the values above `zeroThreshold`.
    public private(set) var positive = Buckets()
    /// Buckets of the values below `-zeroThreshold`, by the index of `|v|`; empty for latencies.
    public private(set) var negative = Buckets()

    public init(schema: Int32 = defaultSchema, zeroThreshold: Double = defaultZeroThreshold) {
        precondition(Self.supportedSchemas.contains(schema), "native histogram schema \(schema) not in \(Self.supportedSchemas)")
        precondition(zeroThreshold >= 0 && zeroThreshold.isFinite, "zero threshold must be finite and ≥ 0")
        self.schema = schema
        self.zeroThreshold = zeroThreshold
    }

    public var isEmpty: Bool { count == 0 }

    /// Adds one observation (seconds).
    public mutating func record(_ value: Double) {
        guard value.isFinite else { return }
        count += 1
        sum += value
        if value > zeroThreshold {
            positive.add(Self.index(of: value, schema: schema))
        } else if value < -zeroThreshold {
            negative.add(Self.index(of: -value, schema: schema))
        } else {
            zeroCount += 1
        }
    }

    /// The positive buckets as protobuf `positive_span`; see `Buckets.spans`.
    public var positiveSpans: [(offset: Int32, length: UInt32)] { positive.spans }
    /// The positive buckets as protobuf `positive_delta`; see `Buckets.deltas`.
    public var positiveDeltas: [Int64] { positive.deltas }
    /// The negative buckets as protobuf `negative_span`.
    public var negativeSpans: [(offset: Int32, length: UInt32)] { negative.spans }
    /// The negative buckets as protobuf `negative_delta`.
    public var negativeDeltas: [Int64] { negative.deltas }
}

// MARK: - Buckets

extension NativeHistogram {
    /// The counts of one sign's buckets: `counts[k]` is the count of bucket `offset + k`. Empty,
    /// or with non-zero first and last counts, so that equal contents compare equal.
    public struct Buckets: Sendable, Equatable {
        /// Index of `counts[0]`.
        public private(set) var offset: Int32 = 0
        public private(set) var counts: [UInt64] = []

        public var isEmpty: Bool { counts.isEmpty }

        /// The count of bucket `index` (0 outside the stored range).
        public subscript(index: Int32) -> UInt64 {
            let k = Int(index) - Int(offset)
            return counts.indices.contains(k) ? counts[k] : 0
        }

        mutating func add(_ index: Int32) {
            let k = Int(index) - Int(offset)
            if k >= 0, k < counts.count {
                counts[k] += 1
                return
            }
            if counts.isEmpty {
                offset = index
                counts = [1]
            } else if k < 0 {
                counts.insert(contentsOf: repeatElement(0, count: -k), at: 0)
                offset = index
                counts[0] = 1
            } else {
                counts.append(contentsOf: repeatElement(0, count: k - counts.count))
                counts.append(1)
            }
        }

        /// The protobuf spans: runs of buckets, the first span's `offset` the absolute index of
        /// its first bucket, every later one's the number of buckets skipped since the previous
        /// span's end. A run of up to 2 empty buckets stays inside a span as zero counts (two
        /// zero deltas cost less than a new span), as Prometheus's Go client does.
        public var spans: [(offset: Int32, length: UInt32)] { encoded().spans }

        /// The protobuf deltas: each bucket's count in span order minus the previous one's
        /// (the first minus 0), across spans.
        public var deltas: [Int64] { encoded().deltas }

        /// Spans and deltas in one pass over the counts.
        public func encoded() -> (spans: [(offset: Int32, length: UInt32)], deltas: [Int64]) {
            var spans: [(offset: Int32, length: UInt32)] = []
            var deltas: [Int64] = []
            deltas.reserveCapacity(counts.count)
            var previous: UInt64 = 0  // count of the last bucket encoded
            var next = 0  // index just after the last bucket encoded
            for (k, c) in counts.enumerated() where c != 0 {
                let index = Int(offset) + k
                let gap = index - next
                if spans.isEmpty || gap > 2 {
                    spans.append((offset: Int32(spans.isEmpty ? index : gap), length: 0))
                } else {
                    for _ in 0..<gap {
                        deltas.append(Int64(truncatingIfNeeded: 0 &- previous))
                        previous = 0
                    }
                    spans[spans.count - 1].length += UInt32(gap)
                }
                // Wrapping: counts never come near 2^63, and a wrapped difference still sums back.
                deltas.append(Int64(truncatingIfNeeded: c &- previous))
                previous = c
                spans[spans.count - 1].length += 1
                next = index + 1
            }
            return (spans, deltas)
        }
    }
}

// MARK: - Bucket index and bounds

extension NativeHistogram {
    /// The index of the bucket of `value` (> 0, finite) at `schema`: the `i` with
    /// `base^(i-1) < value ≤ base^i`. Computed from the binary exponent and a table of the
    /// bounds within one power of two, as Prometheus's Go client does, never through a
    /// logarithm, so a value on a bound lands exactly where Prometheus puts it.
    public static func index(of value: Double, schema: Int32) -> Int32 {
        precondition(value > 0 && value.isFinite && supportedSchemas.contains(schema))
        // value = fraction × 2^exp with fraction in [0.5, 1) (C's frexp).
        let fraction = value.significand / 2
        let exp = Int32(value.exponent) + 1
        if schema > 0 {
            // The first of the 2^schema bounds in [0.5, 1) at or above the fraction.
            let n = Int32(1) << schema
            let stride = fractionBounds.count >> Int(schema)
            var low = 0
            var high = Int(n)
            while low < high {
                let mid = (low + high) / 2
                if fractionBounds[mid * stride] < fraction { low = mid + 1 } else { high = mid }
            }
            return Int32(low) + (exp - 1) * n
        }
        // Schema ≤ 0: bucket i ends at 2^(i·2^-schema). An exact power of two (fraction 0.5)
        // belongs to the bucket it ends; the shift divides rounding up, negative indices too.
        let key = fraction == 0.5 ? exp - 1 : exp
        let shift = -schema
        return (key + (Int32(1) << shift) - 1) >> shift
    }

    /// The bounds of bucket `index` at `schema`: `(lower, upper]`, as Prometheus reports them
    /// (an index past the range of Double gives infinity).
    public static func bounds(index: Int32, schema: Int32) -> (lower: Double, upper: Double) {
        (upperBound(index - 1, schema: schema), upperBound(index, schema: schema))
    }

    static func upperBound(_ index: Int32, schema: Int32) -> Double {
        precondition(supportedSchemas.contains(schema))
        if schema > 0 {
            let n = Int32(1) << schema
            let fraction = fractionBounds[Int(index & (n - 1)) * (fractionBounds.count >> Int(schema))]
            return Double(sign: .plus, exponent: Int(index >> schema) + 1, significand: fraction)
        }
        return Double(sign: .plus, exponent: Int(index) << Int(-schema), significand: 1)
    }

    /// 2^(j/32) / 2 for j in 0..<32: the bounds of schema 5 within [0.5, 1); schema s < 5 uses
    /// every 2^(5-s)-th. These are the numbers Prometheus itself uses (its Go client to pick
    /// buckets, its server to report bounds), which are up to 3 ulp below the correctly rounded
    /// powers; the same numbers put a value that sits on a bound in the same bucket.
    static let fractionBounds: [Double] = [
        0.5, 0.5109485743270583, 0.5221368912137069, 0.5335702003384117,
        0.5452538663326288, 0.5571933712979462, 0.5693943173783458, 0.5818624293887887,
        0.5946035575013605, 0.6076236799902344, 0.620928906036742, 0.6345254785958666,
        0.6484197773255048, 0.6626183215798706, 0.6771277734684463, 0.6919549409819159,
        0.7071067811865475, 0.7225904034885232, 0.7384130729697496, 0.7545822137967112,
        0.7711054127039704, 0.7879904225539431, 0.805245165974627, 0.8228777390769823,
        0.8408964152537144, 0.8593096490612387, 0.8781260801866495, 0.8973545375015533,
        0.9170040432046711, 0.9370838170551498, 0.9576032806985735, 0.9785720620876999,
    ]
}
