import Foundation
import PhaseWatchCore
import Storage
import Synchronization

/// The chart buckets of each target that can no longer change. A bucket that ended more than
/// `settle` ago is final — every probe that started in it has finished and been written — so
/// it is read from the store once and kept, and a page view reads only the last few buckets.
/// Without it every view of a page of 1,000 targets would scan all their raw rows of the last
/// 6 hours (over a million at 15 s intervals: StatusPageScaleTests shows the difference).
///
/// A batch the writer could not store for longer than `settle` (a failing disk) is missing
/// from its buckets until the agent restarts; the SLO numbers are not affected.
final class PhaseSeriesCache: Sendable {
    private struct Entry {
        var step: Duration
        var connection: ConnectionKind?
        /// `buckets` holds every bucket that starts before this instant (those with probes).
        var settledUntil: Date
        var buckets: [PhaseMeans]
    }

    /// Longer than a probe can run (timeouts, retries and backoff) plus the writer's flush.
    let settle: TimeInterval
    /// Targets per read transaction: large enough to save trips to the reader connections,
    /// small enough that no single read holds a connection for long.
    let batchSize: Int
    private let entries = Mutex<[String: Entry]>([:])

    init(settle: TimeInterval = 300, batchSize: Int = 100) {
        self.settle = settle
        self.batchSize = batchSize
    }

    /// The series of each of `targets` over `span` as of `now`, oldest bucket first. Forgets
    /// targets not asked for (removed from the config). Two reads run at once: SQLite readers
    /// run in parallel in WAL mode, and two leaves a core for probing on small machines.
    /// `connections` names the kind of request charted for targets that make more than fresh
    /// ones (docs/probing.md#connections).
    func series(
        targets: [String], span: ChartSpan, now: Date, store: ProbeStore, connections: [String: ConnectionKind] = [:]
    ) async -> [String: StatusPageModel.ChartData] {
        let settledUntil = max(span.start, span.bucketStart(atOrBefore: now.addingTimeInterval(-settle)))
        let wanted = Set(targets)
        let known = entries.withLock { entries in
            entries = entries.filter { wanted.contains($0.key) }
            return targets.map { name -> (from: Date, buckets: [PhaseMeans]) in
                guard let entry = entries[name], entry.step == span.step, entry.connection == connections[name],
                      entry.settledUntil >= span.start,
                      entry.settledUntil <= span.end
                else { return (span.start, []) }
                return (entry.settledUntil, entry.buckets.filter { $0.start >= span.start })
            }
        }
        let queries = zip(targets, known).map {
            PhaseMeansQuery(target: $0, from: $1.from, to: span.end, step: span.step, connection: connections[$0])
        }
        let batches = stride(from: 0, to: queries.count, by: batchSize).map { $0..<min($0 + batchSize, queries.count) }

        // Two workers taking every other batch. (Not the add-a-task-as-one-finishes pattern: with
        // child results of type Result, Swift 6.3.1 -O miscompiles it and drops all but the
        // first answer.)
        let workers = min(2, batches.count)
        let answers = await withTaskGroup(of: [(Int, Result<[[PhaseMeans]], any Error>)].self) { group in
            for worker in 0..<workers {
                group.addTask {
                    var done: [(Int, Result<[[PhaseMeans]], any Error>)] = []
                    for batch in stride(from: worker, to: batches.count, by: workers) {
                        do {
                            done.append((batch, .success(try await store.phaseMeans(Array(queries[batches[batch]])))))
                        } catch {
                            done.append((batch, .failure(error)))
                        }
                    }
                    return done
                }
            }
            var answers: [Int: Result<[[PhaseMeans]], any Error>] = [:]
            for await done in group {
                for (batch, answer) in done { answers[batch] = answer }
            }
            return answers
        }

        var out: [String: StatusPageModel.ChartData] = [:]
        var settled: [String: Entry] = [:]
        for (batch, range) in batches.enumerated() {
            for (offset, index) in range.enumerated() {
                let name = targets[index]
                switch answers[batch] {
                case .success(let series):
                    let all = known[index].buckets + series[offset]
                    out[name] = .series(all)
                    settled[name] = Entry(
                        step: span.step, connection: connections[name], settledUntil: settledUntil,
                        buckets: all.filter { $0.start < settledUntil })
                case .failure(let error):
                    out[name] = .unavailable("\(error)")
                case nil:
                    out[name] = .unavailable("not read")
                }
            }
        }
        entries.withLock { $0.merge(settled) { _, new in new } }
        return out
    }
}
