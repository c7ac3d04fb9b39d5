import Foundation
import Hummingbird
import NIOCore
import PhaseWatchCore
import Storage

/// `GET /api/v1/targets/{name}/report` (docs/api.md#get-apiv1targetsnamereport): a configured target's report
/// (`Report`) as JSON, or as CSV for `Accept: text/csv`.
struct ReportController {
    let store: ProbeStore
    let config: @Sendable () -> AgentConfig

    var endpoints: RouteCollection<AgentRequestContext> {
        RouteCollection(context: AgentRequestContext.self)
            .get("/api/v1/targets/{name}/report", use: report)
    }

    @Sendable func report(_ request: Request, context: AgentRequestContext) async throws -> Response {
        let name = context.parameters.get("name") ?? ""
        // The report judges by the target's config (interval, SLOs, state thresholds).
        guard let target = config().targets.first(where: { $0.name == name }) else { throw APIError.unknownTarget(name) }
        let query = ReportQuery.Parameters(
            from: request.uri.queryParameters["from"].map(String.init), to: request.uri.queryParameters["to"].map(String.init),
            step: request.uri.queryParameters["step"].map(String.init), tz: request.uri.queryParameters["tz"].map(String.init))
        let parsed: ReportQuery
        do {
            parsed = try ReportQuery(query)
        } catch let invalid as ReportQuery.Invalid {
            throw APIError(status: .badRequest, code: "bad_parameter", message: invalid.message)
        }
        let report: Report
        do {
            report = try await Report.make(
                target: target, from: parsed.from, to: parsed.to, step: parsed.step, timeZone: parsed.timeZone, store: store, now: Date())
        } catch let problem as ReportPeriods.Problem {
            throw APIError(status: .badRequest, code: "bad_parameter", message: "\(problem)")
        }
        let csv = request.headers[.accept].map(Self.wantsCSV) ?? false
        if csv {
            return .rendered(ByteBuffer(string: report.csv), contentType: "text/csv; charset=utf-8", headers: [.vary: "Accept"])
        }
        return .rendered(ByteBuffer(bytes: try ProbeResult.makeEncoder().encode(report)), contentType: "application/json", headers: [.vary: "Accept"])
    }

    /// CSV when the client names `text/csv` before (or without) JSON.
    static func wantsCSV(_ accept: String) -> Bool {
        let types = accept.split(separator: ",").map { ($0.split(separator: ";").first ?? "").trimmingCharacters(in: .whitespaces).lowercased() }
        guard let csv = types.firstIndex(of: "text/csv") else { return false }
        return types.firstIndex(of: "application/json").map { csv < $0 } ?? true
    }
}
