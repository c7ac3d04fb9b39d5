import Config
import Foundation
import Hummingbird
import NIOCore
import PhaseWatchCore
import Storage

/// Read-only history endpoints (docs/api.md): a target's raw results, newest first and paged,
/// and its latency quantiles over a window. They read the store, and the config only for which
/// names are configured and how long the rollups are kept.
struct HistoryController {
    static let defaultLimit = 100
    static let maxLimit = 1000

    let store: ProbeStore
    let config: @Sendable () -> AgentConfig

    var endpoints: RouteCollection<AgentRequestContext> {
        RouteCollection(context: AgentRequestContext.self)
            .get("/api/v1/targets/{name}/results", use: results)
            .get("/api/v1/targets/{name}/latency", use: latency)
    }

    @Sendable func results(_ request: Request, context: AgentRequestContext) async throws -> ResultsPage {
        let name = try await knownTarget(context)
        let query = request.uri.queryParameters
        let since = try Self.time(query["since"].map(String.init), "since")
        let until = try Self.time(query["until"].map(String.init), "until")
        let limit = try Self.integer(query["limit"].map(String.init), "limit", default: Self.defaultLimit, range: 1...Self.maxLimit)
        let connection = try Self.connection(query["connection"].map(String.init))
        let address = try Self.address(query["ip"].map(String.init), connection: connection)
        do {
            let page = try await store.results(
                target: name, since: since, until: until, limit: limit, cursor: query["cursor"].map(String.init), connection: connection,
                address: address)
            return ResultsPage(results: page.results.map(\.withRedactedURL), nextCursor: page.next)
        } catch StoreError.invalidCursor(let why) {
            throw APIError(status: .badRequest, code: "bad_parameter", message: "cursor: \(why)")
        }
    }

    @Sendable func latency(_ request: Request, context: AgentRequestContext) async throws -> LatencyQuantiles {
        let name = try await knownTarget(context)
        let windowText = request.uri.queryParameters["window"].map(String.init) ?? "1h"
        let window = try Self.duration(windowText, "window", max: config().storage.rollupRetention)
        let to = Date()
        let from = to.addingTimeInterval(-window.seconds)
        // Latency is of one kind of request: the one the target's SLOs judge unless asked (docs/api.md).
        let configured = config().targets.first { $0.name == name }?.sloConnection ?? .fresh
        let asked = try Self.connection(request.uri.queryParameters["connection"].map(String.init))
        let address = try Self.address(request.uri.queryParameters["ip"].map(String.init), connection: asked)
        let summary = try await store.summary(
            target: name, from: from, to: to, connection: address == nil ? asked ?? configured : nil, address: address)
        return LatencyQuantiles(target: name, window: window, from: from, to: to, summary: summary)
    }

    /// `connection=fresh|reused` (docs/probing.md#connections).
    static func connection(_ text: String?) throws -> ConnectionKind? {
        guard let text else { return nil }
        guard let kind = ConnectionKind(rawValue: text) else {
            throw APIError(status: .badRequest, code: "bad_parameter", message: "connection: \"\(text)\" is not fresh or reused")
        }
        return kind
    }

    /// `ip=ADDRESS`: one address of an `ip_policy: all` target (docs/probing.md#addresses), whose
    /// requests are all fresh.
    static func address(_ text: String?, connection: ConnectionKind?) throws -> String? {
        guard let text else { return nil }
        guard let address = IPAddress.canonical(text) else {
            throw APIError(status: .badRequest, code: "bad_parameter", message: "ip: \"\(text)\" is not an IP address")
        }
        guard connection == nil else {
            throw APIError(status: .badRequest, code: "bad_parameter", message: "ip and connection do not go together: every request to one address is fresh")
        }
        return address
    }

    /// The `{name}` of the path, if it is configured now or has history; else 404.
    private func knownTarget(_ context: AgentRequestContext) async throws -> String {
        let name = context.parameters.get("name") ?? ""
        if config().targets.contains(where: { $0.name == name }) { return name }
        if try await store.targets().contains(name) { return name }
        throw APIError.unknownTarget(name, orStored: true)
    }

    /// RFC 3339 (`2026-11-22T10:00:00Z`) or Unix seconds (`1795428000.5`).
    static func time(_ text: String?, _ parameter: String) throws -> Date? {
        guard let text else { return nil }
        let date: Date
        if let seconds = Double(text), seconds.isFinite {
            date = Date(timeIntervalSince1970: seconds)
        } else if let parsed = Timestamp.parse(text) {
            date = parsed
        } else {
            throw APIError(status: .badRequest, code: "bad_parameter",
                           message: "\(parameter): \"\(text)\" is not an RFC 3339 time or Unix seconds")
        }
        guard Timestamp.years.contains(date) else {
            throw APIError(status: .badRequest, code: "bad_parameter",
                           message: "\(parameter): \"\(text)\" is outside the years 0001 to 9999")
        }
        return date
    }

    static func integer(_ text: String?, _ parameter: String, default value: Int, range: ClosedRange<Int>) throws -> Int {
        guard let text else { return value }
        guard let number = Int(text), range.contains(number) else {
            throw APIError(status: .badRequest, code: "bad_parameter",
                           message: "\(parameter): \"\(text)\" is not a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return number
    }

    static func duration(_ text: String, _ parameter: String, max: Duration) throws -> Duration {
        guard let value = try? PromDuration.parse(text), value > .zero else {
            throw APIError(status: .badRequest, code: "bad_parameter", message: "\(parameter): \"\(text)\" is not a duration like 5m, 1h or 30d")
        }
        guard value <= max else {
            throw APIError(status: .badRequest, code: "bad_parameter",
                           message: "\(parameter): \(text) is longer than the history kept (\(PromDuration.format(max)))")
        }
        return value
    }
}

struct ResultsPage: ResponseEncodable {
    let results: [ProbeResult]
    /// Pass as `cursor` for the next (older) page; null after the last page.
    let nextCursor: String?

    enum CodingKeys: String, CodingKey {
        case results
        case nextCursor = "next_cursor"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(results, forKey: .results)
        try container.encode(nextCursor, forKey: .nextCursor)  // explicit null at the end
    }
}

/// `GET /api/v1/targets/{name}/latency`'s body.
extension LatencyQuantiles: ResponseEncodable {}
