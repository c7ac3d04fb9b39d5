import Foundation
import PhaseWatchCore

/// One probe result on its way into the store.
public struct StoredProbe: Sendable, Equatable {
    public var result: ProbeResult
    /// The target's latency-SLO threshold when the probe ran; the row records whether the probe
    /// was good against it, so changing the threshold later never rewrites history. nil (no
    /// latency SLO) counts every successful probe as good.
    public var latencyThreshold: Duration?

    public init(result: ProbeResult, latencyThreshold: Duration? = nil) {
        self.result = result
        self.latencyThreshold = latencyThreshold
    }

    /// Whether the probe counts as good for the latency SLI (docs/slo.md).
    public var isGoodLatency: Bool {
        guard result.success else { return false }
        guard let latencyThreshold else { return true }
        return Microseconds.seconds(result.duration) <= Microseconds.duration(latencyThreshold)
    }
}

/// Everything known about the probes of one target in a window: exact counts and mergeable
/// latency sketches (docs/slo.md).
public struct WindowSummary: Sendable, Equatable {
    public var total: Int
    public var success: Int
    /// Successful probes no slower than the latency threshold recorded with each probe.
    public var goodLatency: Int
    /// Failed probes by the phase they failed in; phases without failures are left out.
    public var failuresByPhase: [Phase: Int]
    public var failuresByReason: [FailureReason: Int]
    /// Total duration of successful probes.
    public var duration: LatencySketch
    /// Per network phase, successful probes only; phases never timed are left out.
    public var phases: [Phase: LatencySketch]

    public init(
        total: Int = 0, success: Int = 0, goodLatency: Int = 0, failuresByPhase: [Phase: Int] = [:],
        failuresByReason: [FailureReason: Int] = [:], duration: LatencySketch = .init(), phases: [Phase: LatencySketch] = [:]
    ) {
        self.total = total
        self.success = success
        self.goodLatency = goodLatency
        self.failuresByPhase = failuresByPhase
        self.failuresByReason = failuresByReason
        self.duration = duration
        self.phases = phases
    }

    public var failures: Int { total - success }

    public mutating func merge(_ other: WindowSummary) {
        total += other.total
        success += other.success
        goodLatency += other.goodLatency
        failuresByPhase.merge(other.failuresByPhase, uniquingKeysWith: +)
        failuresByReason.merge(other.failuresByReason, uniquingKeysWith: +)
        duration.merge(other.duration)
        phases.merge(other.phases) { $0.merged(with: $1) }
    }
}

public enum StoreError: Error, Equatable, CustomStringConvertible {
    /// A `cursor` that `results` did not hand out.
    case invalidCursor(String)
    /// A parameter out of range, e.g. `limit` < 1.
    case invalidArgument(String)
    /// The file holds something this version cannot read (e.g. written by a newer phasewatch).
    case corrupt(String)
    /// The database could not be opened for writing (read-only, no permission, disk full…).
    case cannotOpen(StorageFailure)
    /// Another process, or another `ProbeStore` of this one, holds the database's lock file;
    /// `pid` as the lock file says it.
    case inUse(path: String, lockFile: String, pid: Int32?)
    /// The file records migrations this version does not know. Nothing in it was changed.
    case newerDatabase(path: String, unknownMigrations: [String])
    /// A SQLite file of another application. Nothing in it was changed.
    case foreignDatabase(path: String, applicationID: Int32, tables: [String])

    /// The complete message for an operator: a caller prints it as it is.
    public var description: String {
        switch self {
        case .invalidCursor(let cursor): "invalid cursor \"\(cursor)\""
        case .invalidArgument(let message): "invalid argument: \(message)"
        case .corrupt(let message): "unreadable data in the probe database: \(message)"
        case .cannotOpen(let failure): "cannot open the database \(failure.path) for writing: \(failure)"
        case .inUse(let path, let lockFile, let pid):
            "database \(path) is in use by \(pid.map { "PID \($0)" } ?? "another process") (it holds \(lockFile)): "
                + "stop that phasewatch, or point --storage.path elsewhere"
        case .newerDatabase(let path, let unknown):
            "\(path) was written by a newer phasewatch (unknown migrations: \(unknown.joined(separator: ", "))): "
                + "upgrade phasewatch, or point --storage.path elsewhere"
        case .foreignDatabase(let path, let id, let tables):
            "\(path) is a SQLite database of another application (application_id \(id), tables: \(Self.list(tables))): "
                + "phasewatch will not add its tables to it; point --storage.path elsewhere"
        }
    }

    /// At most ten names: the point is to recognize the file, not to list its schema.
    private static func list(_ names: [String]) -> String {
        guard !names.isEmpty else { return "none" }
        let shown = names.prefix(10).joined(separator: ", ")
        return names.count > 10 ? "\(shown) and \(names.count - 10) more" : shown
    }
}

/// Times and durations are stored as integer microseconds.
enum Microseconds {
    static func seconds(_ seconds: Double) -> Int64 {
        guard seconds.isFinite else { return seconds > 0 ? Int64.max / 2 : 0 }
        return Int64((seconds * 1_000_000).rounded())
    }

    static func duration(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000_000 + attoseconds / 1_000_000_000_000
    }

    static func toSeconds(_ micros: Int64) -> Double {
        Double(micros) / 1_000_000
    }

    static func date(_ date: Date) -> Int64 {
        seconds(date.timeIntervalSince1970)
    }

    /// The one way the store turns stored microseconds back into a Date, so that a result read
    /// twice compares equal.
    static func toDate(_ micros: Int64) -> Date {
        Date(timeIntervalSince1970: Double(micros) / 1_000_000)
    }
}
