import PhaseWatchCore
import Testing

@testable import RemoteWrite

@Suite struct PendingQueueTests {
    private func batch(_ samples: Int) -> Batch { Batch(body: [UInt8](repeating: 1, count: samples), samples: samples) }

    @Test func keepsOrderAndDropsOldestOverTheBound() {
        var queue = PendingQueue(maxSamples: 10)
        #expect(queue.append(batch(4)) == 0)
        #expect(queue.append(batch(4)) == 0)
        let first = queue.first!.sequence
        // 12 > 10: the oldest batch goes, the new one stays.
        #expect(queue.append(batch(4)) == 4)
        #expect(queue.samples == 8)
        #expect(queue.first!.sequence == first + 1)
        #expect(queue.count == 2)
    }

    @Test func removesOnlyTheBatchThatWasSent() {
        var queue = PendingQueue(maxSamples: 10)
        _ = queue.append(batch(6))
        let sending = queue.first!
        // While it was in flight a newer batch pushed it out.
        #expect(queue.append(batch(6)) == 6)
        queue.removeFirst(sequence: sending.sequence)
        #expect(queue.count == 1 && queue.samples == 6)
        queue.removeFirst(sequence: queue.first!.sequence)
        #expect(queue.isEmpty && queue.samples == 0)
    }

    @Test func lowerBoundTrimsAndManyBatchesStayConsistent() {
        var queue = PendingQueue(maxSamples: 1_000_000)
        for _ in 0..<500 { _ = queue.append(batch(2)) }
        for _ in 0..<300 { queue.removeFirst(sequence: queue.first!.sequence) }
        #expect(queue.count == 200 && queue.samples == 400)
        #expect(queue.setMaxSamples(100) == 300)
        #expect(queue.count == 50)
        #expect(queue.removeAll() == 100)
        #expect(queue.isEmpty)
    }
}

@Suite struct BackoffTests {
    @Test func doublesWithinJitterUpToTheMaximum() {
        var backoff = Backoff(base: .milliseconds(100), max: .seconds(1))
        #expect(backoff.fail(unit: 0) == .milliseconds(50))
        #expect(backoff.fail(unit: 0.999_999) <= .milliseconds(200))
        #expect(backoff.fail(unit: 0.5) == .milliseconds(300))
        for _ in 0..<40 { _ = backoff.fail(unit: 1) }
        #expect(backoff.step == .seconds(1))
        backoff.succeed()
        #expect(backoff.step == .zero)
    }
}

@Suite struct SnappyTests {
    @Test func roundTripsAndCompresses() {
        let text = Array(String(repeating: "phasewatch_probe_success{target=\"api\"} 1\n", count: 200).utf8)
        let compressed = Snappy.compress(text)
        #expect(compressed.count < text.count / 5)
        #expect(Snappy.uncompress(compressed) == text)
        #expect(Snappy.uncompress([0xFF, 0xFF, 0xFF]) == nil)
    }
}
