import Logging
import PhaseWatchCore
import Storage
import Synchronization

/// Where a finished probe goes: the target's record (state, series, last result), the result
/// writer — and the log, a line when the state changes. Data flows one way, from the
/// scheduler through here to storage.
final class ResultSink: Sendable {
    let metrics: AgentMetrics
    let writer: ResultWriter
    let location: String
    let logger: Logger
    private let agentErrors = AgentErrorLog()

    init(metrics: AgentMetrics, writer: ResultWriter, location: String, logger: Logger) {
        self.metrics = metrics
        self.writer = writer
        self.location = location
        self.logger = logger
    }

    /// A run's results, in the order the run made them. Those of an `ip_policy: all` target's
    /// addresses are stored in their own series and shown per address; the target's state,
    /// counters and SLOs follow its own result (docs/probing.md#addresses).
    func record(_ results: [ProbeResult], of target: Target, into record: TargetRecord?, weight: Double = 1) {
        guard target.ipPolicy == .all else {
            for result in results { self.record(result, of: target, into: record, weight: weight) }
            return
        }
        let addresses = results.filter { $0.address != nil && $0.failure?.reason != .agentError }
        for result in results where result.address == nil { self.record(result, of: target, into: record, weight: weight) }
        record?.observeAddresses(addresses)
        for result in addresses {
            writer.add(StoredProbe(result: result, latencyThreshold: target.slo?.latency?.threshold, weight: weight))
        }
    }

    /// `record` is nil only for a target no longer configured when a test hands a result in;
    /// the result is still stored (it is real). `weight`: the share of the target's interval
    /// the probe stands for (`Schedule.weight`).
    func record(_ result: ProbeResult, of target: Target, into record: TargetRecord?, weight: Double = 1) {
        // The agent's own fault says nothing about the target: no state change, no history,
        // no SLO; counted and logged instead (docs/probing.md, "Agent errors").
        if result.failure?.reason == .agentError {
            metrics.agent.agentErrors.increment()
            agentErrors.report(result, logger: logger)
            return
        }
        logger.debug("probe", metadata: [
            "target": "\(result.target)", "success": .stringConvertible(result.success),
            "duration_seconds": .stringConvertible(result.duration), "phase": "\(result.failure?.phase.rawValue ?? "")",
            "reason": "\(result.failure?.reason.rawValue ?? "")", "trace_id": "\(result.traceId)",
        ])
        if let change = record?.observe(result), change.state != change.previous { log(change, of: result) }
        writer.add(StoredProbe(result: result, latencyThreshold: target.slo?.latency?.threshold, weight: weight))
    }

    /// One line per state change, in words an operator greps for: down and degraded as
    /// warnings with the failure that did it, recoveries as info. Every probe at debug.
    func log(_ change: TargetRecord.Change, of result: ProbeResult) {
        var metadata: Logger.Metadata = [
            "target": "\(result.target)", "location": "\(location)", "state": "\(change.state.rawValue)",
            "previous": "\(change.previous.rawValue)", "why": "\(change.reason)",
        ]
        if let failure = result.failure {
            metadata["phase"] = "\(failure.phase.rawValue)"
            metadata["reason"] = "\(failure.reason.rawValue)"
            metadata["error"] = "\(failure.message)"
        }
        switch (change.previous, change.state) {
        case (_, .down), (_, .degraded): logger.warning("target \(change.state.rawValue)", metadata: metadata)
        case (.unknown, _): logger.debug("target \(change.state.rawValue)", metadata: metadata)  // every target's first probe
        default: logger.info("target \(change.state.rawValue)", metadata: metadata)
        }
    }
}

/// Logs agent errors at most once a minute with how many there were, so a descriptor shortage
/// that fails every probe is one line a minute, not one per probe.
final class AgentErrorLog: Sendable {
    private let state = Mutex<(last: ContinuousClock.Instant?, since: Int)>((nil, 0))

    func report(_ result: ProbeResult, logger: Logger) {
        let now = ContinuousClock.now
        let count = state.withLock { state -> Int? in
            state.since += 1
            if let last = state.last, now - last < .seconds(60) { return nil }
            defer { state = (now, 0) }
            return state.since
        }
        guard let count else { return }
        logger.error("the agent could not run probes: not counted against their targets", metadata: [
            "target": "\(result.target)", "reason": "\(result.failure?.message ?? "")", "probes": .stringConvertible(count),
        ])
    }
}
