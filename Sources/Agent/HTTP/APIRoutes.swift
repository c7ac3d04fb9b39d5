import Foundation
import Hummingbird
import NIOCore
import PhaseWatchCore

/// The status endpoints of the JSON API (docs/api.md): targets with their state and last
/// probe, one target with its SLO status, and the SLO status of all targets. All of them read
/// the SLO engine's latest snapshot (`as_of` says which instant it describes).
enum APIRoutes {
    static func add(to router: RouteTable.Recorder, runtime: AgentRuntime) {
        router.get("/api/v1/targets") { _, _ -> Response in
            let snapshot = try await runtime.slo.snapshot()
            let latest = runtime.latestResults
            let config = runtime.config
            let targets = config.targets.map { target in
                TargetListItem(
                    info: TargetInfo(target, location: config.global.location, runtime: runtime, last: latest[target.name]),
                    slo: (snapshot.targets[target.name]?.slos ?? []).map(SLOSummary.init))
            }
            return try HistoryRoutes.json(TargetList(asOf: snapshot.asOf, targets: targets))
        }
        router.get("/api/v1/targets/{name}") { _, context -> Response in
            let name = context.parameters.get("name") ?? ""
            let config = runtime.config
            guard let target = config.targets.first(where: { $0.name == name }) else {
                return APIError(status: .notFound, code: "unknown_target", message: "no configured target named \"\(name)\"").response()
            }
            let snapshot = try await runtime.slo.snapshot()
            let slo = snapshot.targets[name]
            return try HistoryRoutes.json(TargetDetail(
                asOf: snapshot.asOf,
                info: TargetInfo(target, location: config.global.location, runtime: runtime, last: runtime.latestResults[name]),
                slo: slo?.slos ?? [], latency: slo?.latency ?? []))
        }
        router.get("/api/v1/openapi.json") { _, _ -> Response in
            var headers = HTTPFields()
            headers[.contentType] = "application/json"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.json)))
        }
        ProbeNowRoute.add(to: router, runtime: runtime)
        // Any other path under /api/ is a JSON 404 like every other API error (docs/api.md),
        // not the router's empty one. Specific routes win over this wildcard.
        router.get("/api/**") { request, _ -> Response in
            APIError(status: .notFound, code: "not_found", message: "no API endpoint at \(request.uri.path)").response()
        }
        router.get("/api/v1/slo") { _, _ -> Response in
            let snapshot = try await runtime.slo.snapshot()
            let body = snapshot.sloJSON
            var headers = HTTPFields()
            headers[.contentType] = "application/json"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
        }
    }
}

/// What every target view shows: settings (no secrets), state and the last probe.
struct TargetInfo: Encodable {
    let name: String
    /// User info (a password in the URL) is masked.
    let url: String
    let location: String
    let interval: String
    let state: TargetState
    let stateSince: Date?
    let stateReason: String
    let last: ProbeResult?

    init(_ target: Target, location: String, runtime: AgentRuntime, last: ProbeResult?) {
        name = target.name
        url = URLRedaction.redacted(target.url)
        self.location = location
        interval = PromDuration.format(target.interval)
        let entry = runtime.states.entry(target.name)
        state = entry?.state ?? .unknown
        stateSince = entry?.since
        stateReason = entry?.reason ?? "no probe yet"
        self.last = last?.withRedactedURL
    }

    enum CodingKeys: String, CodingKey {
        case name, url, location, interval, state, last
        case stateSince = "state_since"
        case stateReason = "state_reason"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(url, forKey: .url)
        try c.encode(location, forKey: .location)
        try c.encode(interval, forKey: .interval)
        try c.encode(state, forKey: .state)
        try c.encode(stateSince, forKey: .stateSince)  // null before the first state change
        try c.encode(stateReason, forKey: .stateReason)
        try c.encode(last, forKey: .last)  // null before the first probe
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

    init(_ status: SLOStatus) {
        slo = status.slo
        objective = status.objective
        window = status.window
        sli = status.sli[status.window]
        errorBudgetRemaining = status.errorBudget.remaining
        firing = status.firingAlerts.map(\.severity)
    }

    enum CodingKeys: String, CodingKey {
        case slo, objective, window, sli, firing
        case errorBudgetRemaining = "error_budget_remaining"
    }
}

struct TargetListItem: Encodable {
    let info: TargetInfo
    let slo: [SLOSummary]

    enum CodingKeys: String, CodingKey { case slo }

    func encode(to encoder: any Encoder) throws {
        try info.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(slo, forKey: .slo)
    }
}

struct TargetList: Encodable {
    let asOf: Date
    let targets: [TargetListItem]

    enum CodingKeys: String, CodingKey {
        case targets
        case asOf = "as_of"
    }
}

struct TargetDetail: Encodable {
    let asOf: Date
    let info: TargetInfo
    let slo: [SLOStatus]
    let latency: [LatencyQuantiles]

    enum CodingKeys: String, CodingKey {
        case slo, latency
        case asOf = "as_of"
    }

    func encode(to encoder: any Encoder) throws {
        try info.encode(to: encoder)
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
