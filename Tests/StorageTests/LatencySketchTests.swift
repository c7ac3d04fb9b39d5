import Foundation
import PhaseWatchCore
import TestSupport
import Testing

struct LatencySketchTests {
    static let distributions: [(String, @Sendable (inout SplitMix64) -> Double)] = [
        ("uniform 1ms-2s", { Double.random(in: 0.001...2, using: &$0) }),
        ("log-normal", { rng in 0.05 * exp(1.2 * rng.normal()) }),
        ("heavy tail", { rng in 0.01 * exp(2.5 * rng.normal()) }),
        ("constant", { _ in 0.123456 }),
    ]

    @Test(arguments: [1, 2, 10, 100, 1_000, 20_000])
    func quantilesWithinOnePercentOfNearestRank(count: Int) {
        for (name, draw) in Self.distributions {
            var rng = SplitMix64(seed: UInt64(count) &* 7919)
            let values = (0..<count).map { _ in draw(&rng) }
            let sketch = LatencySketch(values)
            expectQuantiles(sketch, values, "\(name), n=\(count)")
        }
    }

    @Test func oneSample() {
        var sketch = LatencySketch()
        #expect(sketch.quantile(0.5) == nil)
        sketch.add(0.25)
        for q in [0, 0.5, 0.99, 1.0] {
            let got = sketch.quantile(q)!
            #expect(abs(got - 0.25) / 0.25 <= 0.01)
        }
        #expect(sketch.quantile(1.5) == nil)
        #expect(sketch.quantile(-0.1) == nil)
    }

    @Test func nearestRankIsTheTextbookOne() {
        // rank = ceil(q·n): p90 of 10 samples is the 9th, not the 10th (0.9 × 10 is 9.000000000000002).
        #expect(LatencySketch.nearestRank(0.9, count: 10) == 9)
        #expect(LatencySketch.nearestRank(0.5, count: 4) == 2)
        #expect(LatencySketch.nearestRank(0.5, count: 5) == 3)
        #expect(LatencySketch.nearestRank(0.99, count: 100) == 99)
        #expect(LatencySketch.nearestRank(0.999, count: 100) == 100)
        #expect(LatencySketch.nearestRank(0, count: 7) == 1)
        #expect(LatencySketch.nearestRank(1, count: 7) == 7)
    }

    @Test func zeroAndTinyValuesShareTheZeroBucket() {
        var sketch = LatencySketch([0, 0, 0.0000005, -1, 0.2])
        #expect(sketch.count == 5)
        #expect(sketch.quantile(0.8) == 0)
        #expect(abs(sketch.quantile(1)! - 0.2) / 0.2 <= 0.01)
        sketch.add(.nan)
        #expect(sketch.count == 5)
    }

    @Test func mergingEqualsAddingEverything() {
        var rng = SplitMix64(seed: 42)
        let a = (0..<3_000).map { _ in 0.02 * exp(rng.normal()) }
        let b = (0..<500).map { _ in 3 * exp(rng.normal()) } + [0]
        var merged = LatencySketch(a)
        merged.merge(LatencySketch(b))
        #expect(merged == LatencySketch(a + b))
        #expect(LatencySketch(b).merged(with: LatencySketch(a)) == merged)
        #expect(merged.merged(with: LatencySketch()) == merged)
        #expect(LatencySketch().merged(with: merged) == merged)
        expectQuantiles(merged, a + b, "merged")
    }

    @Test func mergingBinaryFormsEqualsMergingSketches() throws {
        var rng = SplitMix64(seed: 8)
        for _ in 0..<200 {
            let a = LatencySketch((0..<Int.random(in: 0..<50, using: &rng)).map { _ in
                Int.random(in: 0..<5, using: &rng) == 0 ? 0 : 0.01 * exp(2 * rng.normal())
            })
            let b = LatencySketch((0..<Int.random(in: 0..<300, using: &rng)).map { _ in 0.05 * exp(rng.normal()) })
            let merged = try LatencySketch.mergeSerialized(a.serialized(), b.serialized())
            #expect(merged == a.merged(with: b).serialized())
        }
        #expect(throws: LatencySketch.DecodingError.self) {
            try LatencySketch.mergeSerialized(LatencySketch([0.1]).serialized(), [1, 0, 1])
        }
    }

    @Test func serializationRoundTripsAndIsCompact() throws {
        var rng = SplitMix64(seed: 7)
        for count in [0, 1, 2, 60, 5_000] {
            let sketch = LatencySketch((0..<count).map { i in i % 17 == 0 ? 0 : 0.05 * exp(rng.normal()) })
            let bytes = sketch.serialized()
            #expect(try LatencySketch(serialized: bytes) == sketch)
            if count == 2 { #expect(bytes.count <= 10, "\(bytes.count) bytes for 2 values") }
        }
        // A minute of a 15 s target: four similar values.
        #expect(LatencySketch([0.101, 0.098, 0.131, 0.102]).serialized().count <= 14)
    }

    @Test func rejectsDamagedBytes() {
        let good = LatencySketch([0.1, 0.2, 0.3]).serialized()
        #expect(throws: LatencySketch.DecodingError.self) { try LatencySketch(serialized: [UInt8]()) }
        #expect(throws: LatencySketch.DecodingError.self) { try LatencySketch(serialized: [2] + good.dropFirst()) }
        #expect(throws: LatencySketch.DecodingError.self) { try LatencySketch(serialized: good.dropLast()) }
        #expect(throws: LatencySketch.DecodingError.self) { try LatencySketch(serialized: good + [0]) }
        // A bucket index far outside the tracked range.
        #expect(throws: LatencySketch.DecodingError.self) { try LatencySketch(serialized: [1, 0, 1, 0xff, 0xff, 0xff, 0x7f, 1]) }
        // Ten continuation bytes: not a 64-bit varint.
        #expect(throws: LatencySketch.DecodingError.self) { try LatencySketch(serialized: [1] + Array(repeating: 0xff, count: 11)) }
    }

    @Test func hugeValuesAreClamped() {
        let sketch = LatencySketch([.infinity, 1e300, 0.5])
        #expect(sketch.count == 3)
        #expect(sketch.quantile(1)! <= LatencySketch.maxTrackedValue * 1.01)
    }
}
