import Foundation
import GRDB
import PhaseWatchCore

/// Mean time per network phase of the successful probes of one target in one time bucket: a
/// point of the status page's per-phase latency chart.
public struct PhaseMeans: Sendable, Equatable {
    /// Start of the bucket; it covers [start, start + step).
    public var start: Date
    /// Successful probes in the bucket (buckets without any are not returned).
    public var probes: Int
    /// Mean seconds per phase. A phase a successful probe did not time (no TLS on plain HTTP)
    /// counts as 0, so the five means add up to the mean of the probes' phase sums and stack.
    public var resolve: Double
    public var connect: Double
    public var tls: Double
    public var processing: Double
    public var transfer: Double
    /// Mean total duration, seconds.
    public var duration: Double

    public init(
        start: Date, probes: Int, resolve: Double, connect: Double, tls: Double, processing: Double, transfer: Double,
        duration: Double
    ) {
        self.start = start
        self.probes = probes
        self.resolve = resolve
        self.connect = connect
        self.tls = tls
        self.processing = processing
        self.transfer = transfer
        self.duration = duration
    }

    /// The mean of one network phase (`assert` takes no time: 0).
    public subscript(phase: Phase) -> Double {
        switch phase {
        case .resolve: resolve
        case .connect: connect
        case .tls: tls
        case .processing: processing
        case .transfer: transfer
        case .assert: 0
        }
    }
}

/// One series asked of `ProbeStore.phaseMeans(_:)`: buckets of `step` counted from `from`, up
/// to `to` (exclusive).
public struct PhaseMeansQuery: Sendable, Equatable {
    public var target: String
    public var from: Date
    public var to: Date
    public var step: Duration
    /// The kind of request (docs/storage.md#connection-series); nil: the fresh ones.
    public var connection: ConnectionKind?

    public init(target: String, from: Date, to: Date, step: Duration, connection: ConnectionKind? = nil) {
        self.target = target
        self.from = from
        self.to = to
        self.step = step
        self.connection = connection
    }
}

extension ProbeStore {
    /// Per-phase means of `target`'s successful probes started in [from, to), in buckets of
    /// `step` counted from `from`, oldest first; buckets without successful probes are left out.
    ///
    /// Raw rows only (kept for `raw_retention`, days): meant for the last hours. SQLite does the
    /// averaging in one range scan of the primary key, so no row reaches Swift.
    public func phaseMeans(target: String, from: Date, to: Date, step: Duration) async throws -> [PhaseMeans] {
        try await phaseMeans([PhaseMeansQuery(target: target, from: from, to: to, step: step)])[0]
    }

    /// Several series in one read transaction, answers in the order asked: for many targets,
    /// one trip to a reader connection instead of one per target.
    public func phaseMeans(_ queries: [PhaseMeansQuery]) async throws -> [[PhaseMeans]] {
        for query in queries where Microseconds.duration(query.step) <= 0 {
            throw StoreError.invalidArgument("step must be positive, got \(query.step)")
        }
        return try await writer.read { db in
            ThreadPriority.lowerCurrentThread()  // probing comes first
            return try queries.map { try Self.phaseMeans($0, db: db) }
        }
    }

    private static func phaseMeans(_ query: PhaseMeansQuery, db: Database) throws -> [PhaseMeans] {
        let stepUs = Microseconds.duration(query.step)
        let fromUs = Microseconds.date(query.from)
        let toUs = Microseconds.date(query.to)
        guard fromUs < toUs, let targetID = try existingTargetID(Series.name(query.target, query.connection), db: db) else { return [] }
        // total() is 0.0 over NULLs where sum() would be NULL: an untimed phase adds 0.
        let statement = try db.cachedStatement(
            sql: """
                SELECT (started_us - ?) / ? AS bucket, count(*) AS probes, total(resolve_us) AS resolve, \
                total(connect_us) AS connect, total(tls_us) AS tls, total(processing_us) AS processing, \
                total(transfer_us) AS transfer, total(duration_us) AS duration \
                FROM probe WHERE target_id = ? AND success = 1 AND started_us >= ? AND started_us < ? \
                GROUP BY bucket ORDER BY bucket
                """)
        return try Row.fetchAll(statement, arguments: [fromUs, stepUs, targetID, fromUs, toUs]).map { row in
            let bucket: Int64 = row["bucket"]
            let count: Int = row["probes"]
            func mean(_ column: String) -> Double { (row[column] as Double) / Double(count) / 1_000_000 }
            return PhaseMeans(
                start: Microseconds.toDate(fromUs + bucket * stepUs), probes: count, resolve: mean("resolve"),
                connect: mean("connect"), tls: mean("tls"), processing: mean("processing"), transfer: mean("transfer"),
                duration: mean("duration"))
        }
    }
}
