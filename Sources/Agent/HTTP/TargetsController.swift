import Foundation
import Hummingbird
import NIOCore
import PhaseWatchCore

/// The running agent as the target views read it: the API's target endpoints and the status
/// page. `buildRouter` makes it from the `AgentRuntime`.
struct LiveTargets: Sendable {
    /// The config in force: a reload replaces it.
    var config: @Sendable () -> AgentConfig
    /// This agent's shard and how many of the configured targets it owns.
    var shard: @Sendable () -> ShardCoverage
    /// Every configured target, in config order.
    var summaries: @Sendable () -> [TargetSummary]
    /// One configured target; nil for a name that is not configured.
    var summary: @Sendable (_ name: String) -> TargetSummary?
    /// The SLO engine's snapshot, computed first right after start or a reload.
    var sloSnapshot: @Sendable () async throws -> SLOSnapshot
}

/// The status endpoints of the JSON API (docs/api.md): targets with their state and last
/// probe, one target with its SLO status, and the SLO status of all targets. All of them read
/// the SLO engine's latest snapshot (`as_of` says which instant it describes).
struct TargetsController {
    let targets: LiveTargets

    var endpoints: RouteCollection<AgentRequestContext> {
        RouteCollection(context: AgentRequestContext.self)
            .get("/api/v1/targets", use: list)
            .get("/api/v1/targets/{name}", use: detail)
            .get("/api/v1/slo", use: slo)
    }

    @Sendable func list(_ request: Request, context: AgentRequestContext) async throws -> TargetList {
        let snapshot = try await targets.sloSnapshot()
        return TargetList(asOf: snapshot.asOf, shard: ShardJSON(targets.shard()), targets: targets.summaries().map { summary in
            TargetListItem(summary: summary, slo: (snapshot.targets[summary.name]?.slos ?? []).map(SLOSummary.init))
        })
    }

    @Sendable func detail(_ request: Request, context: AgentRequestContext) async throws -> TargetDetail {
        let name = context.parameters.get("name") ?? ""
        guard let summary = targets.summary(name) else {
            throw APIError.unknownTarget(name)
        }
        let snapshot = try await targets.sloSnapshot()
        let slo = snapshot.targets[name]
        return TargetDetail(asOf: snapshot.asOf, summary: summary, slo: slo?.slos ?? [], latency: slo?.latency ?? [])
    }

    /// The body the snapshot encoded when it was made (`SLOSnapshot.sloJSON`).
    @Sendable func slo(_ request: Request, context: AgentRequestContext) async throws -> Response {
        .rendered(ByteBuffer(bytes: try await targets.sloSnapshot().sloJSON), contentType: "application/json")
    }
}

/// One SLO in the targets list: the numbers a glance needs.
struct SLOSummary: Encodable {
    let slo: SLOStatus.Kind
    let objective: Double
    let window: String
    /// SLI over the SLO window; absent without probes.
    let sli: Double?
    let errorBudgetRemaining: Double?
    /// Severities of the burn-rate alerts firing now.
    let firing: [BurnRateAlert.Severity]
    /// Whether enough of the SLO window was observed (docs/slo.md#coverage).
    let data: SLOStatus.Data

    init(_ status: SLOStatus) {
        slo = status.slo
        objective = status.objective
        window = status.window
        sli = status.sli[status.window]
        errorBudgetRemaining = status.errorBudget.remaining
        firing = status.firingAlerts.map(\.severity)
        data = status.data
    }

    enum CodingKeys: String, CodingKey {
        case slo, objective, window, sli, firing, data
        case errorBudgetRemaining = "error_budget_remaining"
    }
}

/// A target's summary with its SLOs' glance numbers beside its keys.
struct TargetListItem: Encodable {
    let summary: TargetSummary
    let slo: [SLOSummary]

    enum CodingKeys: String, CodingKey { case slo }

    func encode(to encoder: any Encoder) throws {
        try summary.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(slo, forKey: .slo)
    }
}

struct TargetList: ResponseEncodable {
    let asOf: Date
    let shard: ShardJSON
    let targets: [TargetListItem]

    enum CodingKeys: String, CodingKey {
        case shard, targets
        case asOf = "as_of"
    }
}

/// Which shard answers and how many targets it owns of those configured (docs/api.md).
struct ShardJSON: Encodable {
    let index: Int
    let total: Int
    let targets: Int
    let configuredTargets: Int

    init(_ coverage: ShardCoverage) {
        index = coverage.shard.index
        total = coverage.shard.total
        targets = coverage.owned
        configuredTargets = coverage.configured
    }

    enum CodingKeys: String, CodingKey {
        case index, total, targets
        case configuredTargets = "configured_targets"
    }
}

struct TargetDetail: ResponseEncodable {
    let asOf: Date
    let summary: TargetSummary
    let slo: [SLOStatus]
    let latency: [LatencyQuantiles]

    enum CodingKeys: String, CodingKey {
        case slo, latency
        case asOf = "as_of"
    }

    func encode(to encoder: any Encoder) throws {
        try summary.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(asOf, forKey: .asOf)
        try c.encode(slo, forKey: .slo)
        try c.encode(latency, forKey: .latency)
    }
}

struct SLOList: Encodable {
    let asOf: Date
    let slos: [SLOStatus]

    enum CodingKeys: String, CodingKey {
        case slos
        case asOf = "as_of"
    }
}
