/// One request's worth of samples, encoded and compressed when it was collected.
public struct Batch: Sendable {
    /// A snappy-compressed `WriteRequest`.
    public let body: [UInt8]
    public let samples: Int
    /// Its place in the queue, set by `PendingQueue.append`: the sender removes the batch it
    /// sent, not whichever is first by then (a trim may have dropped it meanwhile).
    public fileprivate(set) var sequence = 0

    public init(body: [UInt8], samples: Int) {
        self.body = body
        self.samples = samples
    }
}

/// The batches waiting for the receiver, oldest first, bounded in samples: receivers take a
/// series' samples only in time order, so the head is sent (and retried) before anything newer,
/// and when the bound is reached the oldest go.
public struct PendingQueue: Sendable {
    public private(set) var maxSamples: Int
    private var batches: [Batch] = []
    private var head = 0
    private var nextSequence = 0
    public private(set) var samples = 0

    public init(maxSamples: Int) { self.maxSamples = maxSamples }

    public var first: Batch? { head < batches.count ? batches[head] : nil }
    public var isEmpty: Bool { head == batches.count }
    public var count: Int { batches.count - head }

    /// Appends `batch`; returns the samples of the oldest batches dropped to stay in bounds
    /// (the new one too, when it alone is over the bound).
    public mutating func append(_ batch: Batch) -> Int {
        var batch = batch
        batch.sequence = nextSequence
        nextSequence += 1
        batches.append(batch)
        samples += batch.samples
        return trim()
    }

    /// Removes the head if it is still batch `sequence` (sent, or refused for good).
    public mutating func removeFirst(sequence: Int) {
        guard first?.sequence == sequence else { return }
        removeFirst()
    }

    private mutating func removeFirst() {
        guard let batch = first else { return }
        samples -= batch.samples
        head += 1
        // Compact once the sent part is the larger one, so appends stay amortised O(1).
        if head > 64, head * 2 > batches.count {
            batches.removeFirst(head)
            head = 0
        }
    }

    /// A new bound (a reload); returns the samples dropped to meet it.
    public mutating func setMaxSamples(_ bound: Int) -> Int {
        maxSamples = bound
        return trim()
    }

    /// Drops everything; returns the samples dropped.
    public mutating func removeAll() -> Int {
        let dropped = samples
        batches = []
        head = 0
        samples = 0
        return dropped
    }

    private mutating func trim() -> Int {
        var dropped = 0
        while samples > maxSamples, let batch = first {
            dropped += batch.samples
            removeFirst()
        }
        return dropped
    }
}
