import Agent
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import PhaseWatchCore
import Storage
import TestSupport
import Testing

/// `GET /api/v1/targets/{name}/report` on the real router over a real SQLite file holding a known
/// history: "api" probed once a minute for three days from 2026-11-22T00:00Z, all good except
/// ten connect failures in a row at 10:00–10:09 on the second day; the probes of minutes 50, 150,
/// 250, … succeeded only at their second attempt.
struct ReportAPITests {
    static let start = Timestamp.parse("2026-11-22T00:00:00Z")!
    static let target = Target(
        name: "api", url: "http://127.0.0.1/", interval: .seconds(60),
        slo: SLOConfig(window: .seconds(30 * 86_400), availability: 0.99, latency: LatencySLO(threshold: .milliseconds(50), objective: 0.9)))

    static func failing(_ minute: Int) -> Bool { (1440 + 600..<1440 + 610).contains(minute) }
    static func retried(_ minute: Int) -> Bool { minute % 100 == 50 && !failing(minute) }

    /// Minute `i`'s probe: fails per `failing`; otherwise takes 10 ms, or 100 ms every tenth minute.
    static func probe(_ i: Int) -> StoredProbe {
        let fails = failing(i)
        let seconds = fails ? 0.001 : (i % 10 == 0 ? 0.1 : 0.01)
        let result = ProbeResult(
            target: "api", url: "http://127.0.0.1/", startedAt: start.addingTimeInterval(Double(i) * 60), success: !fails,
            failure: fails ? Failure(phase: .connect, reason: .connectRefused, message: "refused") : nil,
            phases: fails ? Phases(resolve: 0.0005, connect: 0.0005)
                : Phases(resolve: 0.0005, connect: 0.0005, tls: 0, processing: seconds - 0.0011, transfer: 0.0001),
            duration: seconds, http: fails ? nil : HTTPFacts(status: 200, version: "1.1", redirects: 0, contentLength: 2, bodyBytes: 2),
            ip: IPFacts(address: "127.0.0.1", family: 4), attempts: retried(i) ? 2 : 1, traceId: String(format: "%032x", i + 1))
        return StoredProbe(result: result, latencyThreshold: .milliseconds(50))
    }

    static func makeStore(_ name: String = #function) async throws -> (ProbeStore, path: String) {
        let dir = Scratch.dir.appendingPathComponent("report-\(UUID().uuidString)")
        let path = dir.appendingPathComponent("pw.db").path
        let store = try ProbeStore(path: path)
        // The target was configured and an agent ran for the whole history.
        try await store.beginRun(at: start, targets: ["api"])
        try await store.insert((0..<3 * 1440).map(probe))
        try await store.heartbeat(at: start.addingTimeInterval(3 * 86_400))
        return (store, path)
    }

    static func app(_ store: ProbeStore) -> some ApplicationProtocol {
        let runtime = AgentRuntime(
            config: AgentConfig(targets: [target]), source: .text("", name: "test"), store: store, logger: Logger(label: "test"))
        return buildApplication(runtime: runtime, host: "127.0.0.1", port: 0, services: [], logger: Logger(label: "test"))
    }

    /// The body as plain values (numbers as NSNumber). Through JSONDecoder: JSONSerialization on
    /// Linux reads some decimals an ulp or two off, which would hide whether CSV and JSON agree.
    static func json(_ buffer: ByteBuffer) throws -> [String: Any] {
        try #require(try JSONDecoder().decode(JSONValue.self, from: Data(buffer: buffer)).plain as? [String: Any])
    }

    enum JSONValue: Decodable {
        case null, number(Double), string(String), array([JSONValue]), object([String: JSONValue])

        init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if c.decodeNil() {
                self = .null
            } else if let number = try? c.decode(Double.self) {
                self = .number(number)
            } else if let text = try? c.decode(String.self) {
                self = .string(text)
            } else if let array = try? c.decode([JSONValue].self) {
                self = .array(array)
            } else {
                self = .object(try c.decode([String: JSONValue].self))
            }
        }

        var plain: Any {
            switch self {
            case .null: NSNull()
            case .number(let n): NSNumber(value: n)
            case .string(let s): s
            case .array(let a): a.map(\.plain)
            case .object(let o): o.mapValues(\.plain)
            }
        }
    }

    @Test func dailyReportHasExactCountsDowntimeAndSLOs() async throws {
        let (store, _) = try await Self.makeStore()
        try await Self.app(store).test(.router) { client in
            let body = try await client.execute(uri: "/api/v1/targets/api/report?from=2026-11-22&to=2026-11-25&step=1d", method: .get) {
                #expect($0.status == .ok)
                #expect($0.headers[.contentType] == "application/json")
                return try Self.json($0.body)
            }
            #expect(body["target"] as? String == "api")
            #expect(body["step"] as? String == "1d")
            #expect(body["tz"] as? String == "UTC")
            #expect(body["from"] as? String == "2026-11-22T00:00:00.000Z")
            let periods = try #require(body["periods"] as? [[String: Any]])
            #expect(periods.map { $0["start"] as? String } == ["2026-11-22T00:00:00.000Z", "2026-11-23T00:00:00.000Z", "2026-11-24T00:00:00.000Z"])
            #expect(periods.map { $0["probes"] as? Int } == [1440, 1440, 1440])
            #expect(periods.map { $0["good"] as? Int } == [1440, 1430, 1440])
            let retriedPerDay = (0..<3).map { day in (day * 1440..<(day + 1) * 1440).filter(Self.retried).count }
            #expect(periods.map { $0["good_first_attempt"] as? Int } == zip([1440, 1430, 1440], retriedPerDay).map { $0 - $1 })
            #expect(periods.map { $0["expected"] as? Double } == [1440, 1440, 1440])
            #expect(periods.map { $0["coverage"] as? Double } == [1, 1, 1])
            #expect(periods.map { $0["unobserved_seconds"] as? Double } == [0, 0, 0])
            // Down from the third failure (10:02) to the second success after them (10:11).
            #expect(periods.map { $0["downtime_seconds"] as? Double } == [0, 540, 0])
            let downtime = try #require(periods[1]["downtime"] as? [[String: String]])
            #expect(downtime == [["from": "2026-11-23T10:02:00.000Z", "to": "2026-11-23T10:11:00.000Z"]])
            #expect(periods[0]["worst_phase"] is NSNull)
            #expect(periods[1]["worst_phase"] as? String == "connect")
            let slo = try #require(periods[1]["slo"] as? [String: [String: Any]])
            #expect(slo["availability"]?["sli"] as? Double == 1430.0 / 1440)
            #expect(slo["availability"]?["sli_first_attempt"] as? Double == Double(1430 - retriedPerDay[1]) / 1440)
            #expect(slo["latency"]?["sli_first_attempt"] == nil, "latency SLOs have no first-attempt basis")
            #expect(abs((slo["availability"]?["budget_consumed"] as? Double ?? 0) - 10 / (1440 * 0.01)) < 1e-9)
            // Latency-good: successful and within 50 ms: all but the 100 ms tenth minutes.
            let slowOrFailed = 144 + 10 - 1  // 10:00 is both a tenth minute and a failure
            #expect(slo["latency"]?["sli"] as? Double == Double(1440 - slowOrFailed) / 1440)
            let latency = try #require(periods[0]["latency"] as? [String: Double])
            #expect(abs(latency["p50"]! - 0.01) / 0.01 < 0.011)
            #expect(abs(latency["p99"]! - 0.1) / 0.1 < 0.011)
            let total = try #require(body["total"] as? [String: Any])
            #expect(total["probes"] as? Int == 4320)
            #expect(total["good"] as? Int == 4310)
            #expect(total["downtime_seconds"] as? Double == 540)
        }
    }

    /// The total of a range is what /api/v1/slo says for an SLO window of that length ending at
    /// its end: the same `SLOStatus`, fed the same summaries and coverage.
    @Test func totalEqualsTheSLOStatusOfTheSameWindow() async throws {
        let (store, _) = try await Self.makeStore()
        let end = Self.start.addingTimeInterval(3 * 86_400)
        var target = Self.target
        target.slo?.window = .seconds(3 * 86_400)
        let evaluated = try await SLOEngine.evaluate(target, at: end, store: store)
        let report = try await Report.make(
            target: Self.target, from: Self.start, to: end, step: .day, timeZone: TimeZone(identifier: "UTC")!, store: store, now: end)
        let availability = try #require(evaluated.slos.first { $0.slo == .availability })
        let latency = try #require(evaluated.slos.first { $0.slo == .latency })
        #expect(report.total.availability?.sli == availability.sli["3d"])
        #expect(report.total.availability?.budgetConsumed == availability.errorBudget.consumed)
        #expect(report.total.latency?.sli == latency.sli["3d"])
        #expect(report.total.latency?.budgetConsumed == latency.errorBudget.consumed)
        #expect(report.total.coverage == availability.coverage)
        #expect(report.total.unobservedSeconds == availability.unobservedSeconds)
        #expect(report.total.probes == availability.probes.total)
        #expect(report.total.good == availability.probes.good)
    }

    /// Every CSV cell is the JSON's value under the joined name.
    @Test func csvCarriesTheJSONNumbers() async throws {
        let (store, _) = try await Self.makeStore()
        try await Self.app(store).test(.router) { client in
            let uri = "/api/v1/targets/api/report?from=2026-11-23T08:00:00Z&to=2026-11-23T13:00:00Z&step=1h"
            let body = try await client.execute(uri: uri, method: .get) { try Self.json($0.body) }
            let csv = try await client.execute(uri: uri, method: .get, headers: [.accept: "text/csv"]) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/csv; charset=utf-8")
                return String(buffer: response.body)
            }
            let lines = csv.split(separator: "\r\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
            let header = lines[0]
            #expect(header.first == "row")
            #expect(header.contains("slo_availability_sli") && header.contains("latency_p95") && header.contains("downtime"))
            let rows = (body["periods"] as! [[String: Any]]) + [body["total"] as! [String: Any]]
            #expect(lines.count == rows.count + 1)
            #expect(lines.last?.first == "total")
            for (line, row) in zip(lines.dropFirst(), rows) {
                for (name, cell) in zip(header.dropFirst(), line.dropFirst()) {
                    let value = Self.flattened(row)[name]
                    switch value {
                    case let number as NSNumber where !(value is String):
                        #expect(Double(cell) == number.doubleValue, "\(name): \(cell) vs \(number)")
                    case let text as String:
                        #expect(cell == text, "\(name)")
                    case let pairs as [[String: String]]:
                        #expect(cell == pairs.map { "\($0["from"]!)/\($0["to"]!)" }.joined(separator: " "), "\(name)")
                    default:
                        #expect(cell == "", "\(name): \(cell) where JSON has null")
                    }
                }
            }
            // The failures' hour has its downtime in both.
            #expect(lines[3][header.firstIndex(of: "downtime_seconds")!] == "540.0")
        }
    }

    static func flattened(_ object: [String: Any], prefix: String = "") -> [String: Any] {
        var out: [String: Any] = [:]
        for (key, value) in object {
            if let nested = value as? [String: Any] {
                out.merge(flattened(nested, prefix: prefix + key + "_")) { a, _ in a }
            } else {
                out[prefix + key] = value
            }
        }
        return out
    }

    @Test func badInputIs400() async throws {
        let (store, _) = try await Self.makeStore()
        try await Self.app(store).test(.router) { client in
            let cases: [(String, String)] = [
                ("to=2026-11-25", "from is required"),
                ("from=2026-11-22&to=2026-11-25&step=2d", "step: \"2d\" is not one of 1m, 1h, 1d, 1w, 1M"),
                ("from=2026-11-22&to=2026-11-25&tz=Mars/Olympus", "tz: \"Mars/Olympus\" is not an IANA time zone"),
                ("from=2026-11-25&to=2026-11-22", "must be before to"),
                ("from=2026-02-30&to=2026-11-22", "from: \"2026-02-30\" is not an RFC 3339 time"),
                ("from=2020-01-01&to=2026-01-01&step=1h", "more than 10000 periods"),
            ]
            for (query, message) in cases {
                try await client.execute(uri: "/api/v1/targets/api/report?\(query)", method: .get) { response in
                    #expect(response.status == .badRequest, "\(query)")
                    let error = try Self.json(response.body)["error"] as? [String: String]
                    #expect(error?["code"] == "bad_parameter")
                    #expect(error?["message"]?.contains(message) == true, "\(query): \(error?["message"] ?? "")")
                }
            }
            try await client.execute(uri: "/api/v1/targets/nope/report?from=2026-11-22&to=2026-11-23", method: .get) {
                #expect($0.status == .notFound)
            }
        }
    }

    /// Where retention deleted the raw results, the state cannot be replayed: downtime is null;
    /// the counts still come from the rollups.
    @Test func downtimeBeyondRawRetentionIsUnknown() async throws {
        let (store, _) = try await Self.makeStore()
        try await store.enforceRetention(now: Self.start.addingTimeInterval(3 * 86_400), raw: .seconds(86_400), rollup: .seconds(90 * 86_400))
        let report = try await Report.make(
            target: Self.target, from: Self.start, to: Self.start.addingTimeInterval(3 * 86_400), step: .day,
            timeZone: TimeZone(identifier: "UTC")!, store: store, now: Date())
        #expect(report.periods.map(\.downtimeSeconds) == [nil, nil, 0])
        #expect(report.periods.map(\.probes) == [1440, 1440, 1440])
        #expect(report.periods[1].good == 1430)
        #expect(report.total.downtimeSeconds == nil)
    }
}
