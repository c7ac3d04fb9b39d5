import Foundation
import Logging
import PhaseWatchCore
import Storage
import Synchronization

/// The agent's one map of targets: a `TargetRecord` per configured name, in config order.
/// A reload reconfigures it in one place (`configure`), and the scheduler, the result sink,
/// `/metrics`, the API and the status page all read the same records.
public final class TargetTable: Sendable {
    private let location: String
    private let records = Mutex<(order: [TargetRecord], byName: [String: TargetRecord])>(([], [:]))

    public init(location: String) {
        self.location = location
    }

    /// What a `configure` did, for the scheduler: which records to start, restart and stop.
    struct Changes {
        var added: [TargetRecord] = []
        /// Kept records whose config changed: their run restarts with the new config.
        var changed: [TargetRecord] = []
        /// No longer configured: out of the table; a probe still running finishes into it.
        var removed: [TargetRecord] = []
    }

    /// Makes `targets` the configured set: new records for new names, the kept ones given
    /// their new config (state, counters and last result kept), the others dropped. The
    /// duration histograms' buckets include every latency-SLO threshold (docs/metrics.md).
    @discardableResult
    func configure(_ targets: [Target], durationBuckets: [Double] = MetricsConfig.defaultDurationBuckets) -> Changes {
        let thresholds = targets.compactMap { $0.slo?.latency?.threshold.seconds }
        let buckets = Buckets(Array(Set(durationBuckets + thresholds)).sorted())
        return records.withLock { records in
            var changes = Changes()
            var byName: [String: TargetRecord] = [:]
            byName.reserveCapacity(targets.count)
            var order: [TargetRecord] = []
            order.reserveCapacity(targets.count)
            for target in targets where byName[target.name] == nil {
                let record: TargetRecord
                if let kept = records.byName[target.name] {
                    record = kept
                    if kept.reconfigure(target, durationBuckets: buckets) { changes.changed.append(kept) }
                } else {
                    record = TargetRecord(target: target, location: location, durationBuckets: buckets)
                    changes.added.append(record)
                }
                byName[target.name] = record
                order.append(record)
            }
            changes.removed = records.order.filter { byName[$0.name] == nil }
            records = (order, byName)
            return changes
        }
    }

    /// Every record, in config order.
    var all: [TargetRecord] { records.withLock { $0.order } }

    subscript(name: String) -> TargetRecord? { records.withLock { $0.byName[name] } }

    /// A target's state, since when and why; nil for a name not configured.
    public func status(_ name: String) -> TargetStatus? { self[name]?.status }

    /// The last result of each target seen since start (or restored from the store).
    public var latestResults: [String: ProbeResult] {
        var latest: [String: ProbeResult] = [:]
        for record in all {
            if let result = record.latest { latest[record.name] = result }
        }
        return latest
    }

    /// After a restart: each target that has seen nothing yet gets its latest stored results
    /// replayed (`TargetRecord.restore`).
    func restore(from store: ProbeStore, logger: Logger) async {
        for record in all {
            let count = record.wantsRestore
            guard count > 0 else { continue }
            do {
                let page = try await store.results(target: record.name, since: nil, until: nil, limit: count, cursor: nil)
                record.restore(page.results.reversed())
                if record.target.ipPolicy == .all, record.addressResults.isEmpty {
                    record.observeAddresses(try await store.latestAddressResults(target: record.name))
                }
            } catch {
                logger.warning("could not restore the state of a target", metadata: ["target": "\(record.name)", "error": "\(error)"])
            }
        }
    }
}
