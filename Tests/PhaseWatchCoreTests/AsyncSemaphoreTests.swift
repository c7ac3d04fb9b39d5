import PhaseWatchCore
import Synchronization
import Testing

/// The scheduler's in-flight limit and the result writer's one flush at a time.
struct AsyncSemaphoreTests {
    /// What the tasks saw, shared by all of them.
    final class Seen: Sendable {
        let holders = Mutex<(now: Int, most: Int)>((0, 0))
        let order = Mutex<[Int]>([])
    }

    @Test func neverMoreHoldersThanTheLimit() async {
        let semaphore = AsyncSemaphore(limit: 3)
        let seen = Seen()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<200 {
                group.addTask {
                    await semaphore.acquire()
                    seen.holders.withLock { $0.now += 1; $0.most = max($0.most, $0.now) }
                    await Task.yield()
                    seen.holders.withLock { $0.now -= 1 }
                    semaphore.release()
                }
            }
        }
        let most = seen.holders.withLock { $0.most }
        #expect(most <= 3 && most >= 1)
        // Every permit came back: three acquire at once without anyone waiting.
        for _ in 0..<3 { await semaphore.acquire() }
        #expect(semaphore.waiting == 0)
    }

    @Test func waitersAreServedInArrivalOrder() async throws {
        let semaphore = AsyncSemaphore(limit: 1)
        await semaphore.acquire()
        let seen = Seen()
        var waiters: [Task<Void, Never>] = []
        for i in 0..<5 {
            waiters.append(Task {
                await semaphore.acquire()
                seen.order.withLock { $0.append(i) }
                semaphore.release()
            })
            // Waiter i queues before waiter i+1 starts.
            while semaphore.waiting < i + 1 { await Task.yield() }
        }
        semaphore.release()
        for waiter in waiters { await waiter.value }
        #expect(seen.order.withLock { $0 } == [0, 1, 2, 3, 4])
    }
}
