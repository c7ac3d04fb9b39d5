import Foundation
import PhaseWatchCore
import Testing

struct NativeHistogramTests {
    /// A histogram with one observation at the upper bound of each of `indices` (schema 5).
    private func histogram(hitting indices: [Int32]) -> NativeHistogram {
        var h = NativeHistogram()
        for i in indices { h.record(NativeHistogram.bounds(index: i, schema: 5).upper) }
        return h
    }

    // MARK: Index and bounds

    @Test func boundsFollowTheSchema() {
        // Schema 5: bucket 0 is (2^(-1/32), 1], bucket 32 ends at 2, bucket -32 at 0.5.
        #expect(NativeHistogram.bounds(index: 0, schema: 5).upper == 1)
        #expect(NativeHistogram.bounds(index: 32, schema: 5) == (NativeHistogram.bounds(index: 31, schema: 5).upper, 2))
        #expect(NativeHistogram.bounds(index: -32, schema: 5).upper == 0.5)
        #expect(NativeHistogram.bounds(index: 320, schema: 5).upper == 1024)
        // Schema 0: powers of two; schema -2: powers of 16.
        #expect(NativeHistogram.bounds(index: 1, schema: 0) == (1, 2))
        #expect(NativeHistogram.bounds(index: -3, schema: 0) == (0.0625, 0.125))
        #expect(NativeHistogram.bounds(index: 1, schema: -2) == (1, 16))
        #expect(NativeHistogram.bounds(index: -1, schema: -2) == (1.0 / 256, 1.0 / 16))
        #expect(NativeHistogram.bounds(index: 1, schema: -4) == (1, 65_536))
        // Every bound of schema 5 is base^i = 2^(i/32), to a few ulp; the bounds of schema 3 are
        // every 4th of them.
        for i: Int32 in -400...400 {
            let upper = NativeHistogram.bounds(index: i, schema: 5).upper
            let exact = pow(2, Double(i) / 32)
            #expect(abs(upper - exact) <= 4 * exact.ulp, "bucket \(i)")
            #expect(upper > NativeHistogram.bounds(index: i, schema: 5).lower)
            if i % 4 == 0 { #expect(NativeHistogram.bounds(index: i / 4, schema: 3).upper == upper) }
        }
    }

    @Test func aValueOnABoundLandsInTheLowerBucket() {
        #expect(NativeHistogram.index(of: 1.0, schema: 5) == 0)
        #expect(NativeHistogram.index(of: 1.0.nextUp, schema: 5) == 1)
        #expect(NativeHistogram.index(of: 1.0.nextDown, schema: 5) == 0)
        #expect(NativeHistogram.index(of: 2.0, schema: 5) == 32)
        #expect(NativeHistogram.index(of: 2.0.nextUp, schema: 5) == 33)
        #expect(NativeHistogram.index(of: 0.5, schema: 5) == -32)
        #expect(NativeHistogram.index(of: 4.0, schema: 0) == 2)
        #expect(NativeHistogram.index(of: 0.0625, schema: -2) == -1)
        #expect(NativeHistogram.index(of: 0.0625.nextUp, schema: -2) == 0)
        for schema: Int32 in [5, 4, 3, 1, 0, -1, -4] {
            for i: Int32 in [-961, -320, -33, -32, -31, -1, 0, 1, 2, 15, 16, 31, 32, 33, 100, 319, 320] {
                let (lower, upper) = NativeHistogram.bounds(index: i, schema: schema)
                guard upper.isFinite, lower > 0 else { continue }
                #expect(NativeHistogram.index(of: upper, schema: schema) == i, "upper bound of \(i) at schema \(schema)")
                #expect(NativeHistogram.index(of: upper.nextUp, schema: schema) == i + 1, "above \(i) at schema \(schema)")
                #expect(NativeHistogram.index(of: lower.nextUp, schema: schema) == i, "just above the lower bound of \(i)")
            }
        }
    }

    @Test func everyValueIsInsideItsBucket() {
        var random = XorShift(seed: 7)
        for schema: Int32 in [5, 2, 0, -3] {
            for _ in 0..<5_000 {
                // Log-uniform over 1 ns … 1 h.
                let value = pow(2, -30 + 42 * random.unit())
                let i = NativeHistogram.index(of: value, schema: schema)
                let (lower, upper) = NativeHistogram.bounds(index: i, schema: schema)
                #expect(lower < value && value <= upper, "\(value) at schema \(schema): bucket \(i) is (\(lower), \(upper)]")
            }
        }
        // The smallest and largest Doubles have buckets too, and subnormals work out.
        let tiny = Double.leastNonzeroMagnitude
        #expect(NativeHistogram.bounds(index: NativeHistogram.index(of: tiny, schema: 5), schema: 5).upper >= tiny)
        #expect(NativeHistogram.index(of: .greatestFiniteMagnitude, schema: 5) == 1024 * 32)
    }

    // MARK: Recording

    @Test func countsAreDenseFromLowestToHighestIndex() {
        var h = NativeHistogram()
        #expect(h.isEmpty && h.positive.isEmpty && h.positiveSpans.isEmpty && h.positiveDeltas.isEmpty)
        h.record(1.0)  // bucket 0
        h.record(2.0)  // bucket 32
        h.record(0.75)  // bucket -13: 0.75 = 2^-0.415, in (2^(-14/32), 2^(-13/32)]
        h.record(1.5)
        #expect(h.count == 4)
        #expect(h.sum == 5.25)
        #expect(h.zeroCount == 0)
        #expect(h.positive.offset == -13)
        #expect(h.positive.counts.count == 32 + 13 + 1)
        #expect(h.positive[-13] == 1 && h.positive[0] == 1 && h.positive[32] == 1)
        #expect(h.positive[NativeHistogram.index(of: 1.5, schema: 5)] == 1)
        #expect(h.positive[-14] == 0 && h.positive[33] == 0)
        #expect(h.positive.counts.reduce(0, +) == 4)
        #expect(h.negative.isEmpty)
    }

    @Test func zerosNegativesAndNonFiniteValues() {
        var h = NativeHistogram()
        #expect(h.schema == 5 && h.zeroThreshold == 0x1p-30)
        h.record(0)
        h.record(-0.0)
        h.record(1e-12)  // under the threshold
        h.record(0x1p-30)  // on it: still the zero bucket
        h.record(0x1p-30.nextUp)
        h.record(-0.5)
        h.record(-0.5)
        h.record(.nan)
        h.record(.infinity)
        h.record(-.infinity)
        #expect(h.count == 7)
        #expect(h.zeroCount == 4)
        #expect(h.positive.offset == -960 + 1 && h.positive.counts == [1])
        #expect(h.negative.offset == -32 && h.negative.counts == [2])
        #expect(h.negativeSpans.map { [$0.offset, Int32($0.length)] } == [[-32, 1]])
        #expect(h.negativeDeltas == [2])
        #expect(abs(h.sum - (1e-12 + 0x1p-30 + 0x1p-30.nextUp - 1)) < 1e-15)
    }

    @Test func recordingInsideTheRangeDoesNotReallocate() {
        var h = NativeHistogram()
        h.record(0.001)
        h.record(10)
        let before = h.positive.counts.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
        var random = XorShift(seed: 3)
        for _ in 0..<10_000 { h.record(0.001 * pow(10_000, random.unit())) }
        let after = h.positive.counts.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
        #expect(before == after)
        #expect(h.count == 10_002)
    }

    @Test func equalObservationsInAnyOrderAreEqual() {
        let values = (1...200).map { Double($0) / 64 }  // dyadic: every sum is exact
        var a = NativeHistogram()
        var b = NativeHistogram()
        for v in values { a.record(v) }
        for v in values.reversed() { b.record(v) }
        #expect(a == b)
        b.record(1)
        #expect(a != b)
        #expect(NativeHistogram(schema: 3) != NativeHistogram())
    }

    // MARK: Spans and deltas

    @Test func spansAndDeltasWithGaps() {
        // Counts by index: 0:2, 1:1, 3:4 (one empty bucket), 7:1 (three empty: a new span),
        // 10:2 (two empty: same span).
        let h = histogram(hitting: [0, 0, 1, 3, 3, 3, 3, 7, 10, 10])
        #expect(h.positiveSpans.map { [$0.offset, Int32($0.length)] } == [[0, 4], [3, 4]])
        // 2, 1-2, 0-1, 4-0 | 1-4, 0-1, 0-0, 2-0
        #expect(h.positiveDeltas == [2, -1, -1, 4, -3, -1, 0, 2])
    }

    @Test func firstSpanStartsAtItsAbsoluteIndex() {
        // Latencies of a few ms: negative indices. Counts: -300:1, -299:3, -290:1, -286:1, -285:5.
        let h = histogram(hitting: [-300, -299, -299, -299, -290, -286, -285, -285, -285, -285, -285])
        #expect(h.positiveSpans.map { [$0.offset, Int32($0.length)] } == [[-300, 2], [8, 1], [3, 2]])
        #expect(h.positiveDeltas == [1, 2, -2, 0, 4])
        let single = histogram(hitting: [5])
        #expect(single.positiveSpans.map { [$0.offset, Int32($0.length)] } == [[5, 1]])
        #expect(single.positiveDeltas == [1])
    }

    @Test func spansAndDeltasDecodeBackToTheCounts() {
        var random = XorShift(seed: 11)
        for round in 0..<50 {
            var h = NativeHistogram()
            // Sparse: a few clusters with gaps of every size.
            for _ in 0..<(1 + round * 3) {
                let index = Int32(random.next() % 200) - 150
                h.record(NativeHistogram.bounds(index: index, schema: 5).upper)
            }
            var decoded: [Int32: UInt64] = [:]
            var index: Int32 = 0
            var count: Int64 = 0
            var deltas = h.positiveDeltas.makeIterator()
            for (n, span) in h.positiveSpans.enumerated() {
                index = n == 0 ? span.offset : index + span.offset
                for _ in 0..<span.length {
                    count += deltas.next()!
                    decoded[index] = UInt64(count)
                    index += 1
                }
            }
            #expect(deltas.next() == nil)
            for i in h.positive.offset..<(h.positive.offset + Int32(h.positive.counts.count)) {
                #expect(decoded[i, default: 0] == h.positive[i], "bucket \(i)")
            }
            #expect(decoded.values.reduce(0, +) == h.count)
            // Empty buckets only inside spans, and never more than 2 in a row.
            #expect(!h.positiveSpans.dropFirst().contains { $0.offset <= 2 })
        }
    }

    // MARK: Accuracy

    @Test func quantilesFromBucketsAreWithinTheBucketWidth() {
        var random = XorShift(seed: 42)
        var h = NativeHistogram()
        var values: [Double] = []
        for _ in 0..<10_000 {
            // Log-normal around 80 ms, rounded to the microsecond like a probe's phases.
            let v = (0.080 * exp(0.6 * random.normal()) * 1e6).rounded() / 1e6
            values.append(v)
            h.record(v)
        }
        values.sort()
        for q in [0.5, 0.9, 0.95, 0.99, 0.999] {
            let rank = Int((q * Double(values.count)).rounded(.up))  // nearest rank, 1-based
            let exact = values[rank - 1]
            var seen = h.zeroCount
            var bucket = h.positive.offset
            for c in h.positive.counts {
                seen += c
                if seen >= UInt64(rank) { break }
                bucket += 1
            }
            let (lower, upper) = NativeHistogram.bounds(index: bucket, schema: h.schema)
            #expect(lower < exact && exact <= upper, "q\(q)")
            let midpoint = (lower + upper) / 2
            #expect(abs(midpoint - exact) / exact <= 0.011, "q\(q): midpoint \(midpoint), exact \(exact)")
            #expect(abs(upper - exact) / exact <= 0.022, "q\(q): upper \(upper), exact \(exact)")
        }
    }
}

/// Deterministic randomness (xorshift64*), so a failure replays; PhaseWatchCoreTests has no
/// TestSupport and its SplitMix64.
private struct XorShift {
    var state: UInt64
    init(seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 | 1 }
    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 0x2545_F491_4F6C_DD1D
    }
    /// Uniform in [0, 1).
    mutating func unit() -> Double { Double(next() >> 11) * 0x1p-53 }
    /// Standard normal (Box–Muller).
    mutating func normal() -> Double {
        let u1 = 1 - unit()
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * unit())
    }
}
