/// The loop thread's timers: a binary min-heap of (deadline, id), earliest first. Cancelled
/// timers stay in it until they come due and are then skipped (their id no longer has a sleeper).
struct DeadlineHeap {
    struct Entry {
        let deadline: ContinuousClock.Instant
        let id: UInt64
    }

    private var entries: [Entry] = []

    var isEmpty: Bool { entries.isEmpty }
    var earliest: ContinuousClock.Instant? { entries.first?.deadline }

    mutating func push(_ entry: Entry) {
        entries.append(entry)
        var child = entries.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard entries[child].deadline < entries[parent].deadline else { break }
            entries.swapAt(child, parent)
            child = parent
        }
    }

    /// Removes and returns the ids of every entry due at `now`.
    mutating func popDue(at now: ContinuousClock.Instant) -> [UInt64] {
        var due: [UInt64] = []
        while let first = entries.first, first.deadline <= now {
            due.append(first.id)
            let last = entries.removeLast()
            guard !entries.isEmpty else { break }
            entries[0] = last
            siftDown()
        }
        return due
    }

    private mutating func siftDown() {
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < entries.count, entries[left].deadline < entries[smallest].deadline { smallest = left }
            if right < entries.count, entries[right].deadline < entries[smallest].deadline { smallest = right }
            if smallest == parent { return }
            entries.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
