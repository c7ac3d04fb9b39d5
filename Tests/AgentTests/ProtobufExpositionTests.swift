@testable import Agent
import Foundation
import PhaseWatchCore
import PrometheusModel
import Storage
import SwiftProtobuf
import Testing

/// The protobuf format against the text format of the same moment: every gauge and counter
/// sample the same, the duration histogram's classic buckets the same plus its native form,
/// the phase histograms native, the agent-wide series (a text registry underneath) intact.
struct ProtobufExpositionTests {
    @Test func protobufSaysWhatTheTextSaysWithNativeHistograms() async throws {
        var api = Target(name: "api", url: "https://example.test/")
        api.slo = SLOConfig(availability: 0.999, latency: LatencySLO(threshold: .milliseconds(300), objective: 0.99))
        api.retries = RetryPolicy(attempts: 1)  // phasewatch_probe_attempts_total in both formats
        let metrics = AgentMetrics(location: #"eu "1""#)
        metrics.configure([api, Target(name: "web", url: "http://example.test/")])
        let probes = MetricsExpositionTests()
        for _ in 0..<3 { metrics.observe(probes.result("api", success: true)) }
        metrics.observe(probes.result("api", success: false))
        metrics.observe(probes.result("web", success: true, tls: false))
        metrics.agent.schedulerLag.record(0.0004)
        var summary = WindowSummary(total: 4, success: 3, goodLatency: 3, failuresByPhase: [.tls: 1])
        for _ in 0..<3 { summary.duration.add(0.084) }
        let summaries = Dictionary(uniqueKeysWithValues: SLIWindows.all(sloWindow: api.slo!.window).map { ($0, summary) })
        let slo = TargetSLO(target: "api", slos: SLOStatus.all(for: api, summaries: summaries), latency: [])
        let snapshot = try SLOSnapshot(asOf: Date(), generation: 1, order: ["api"], targets: ["api": slo])

        let text = try await metrics.render(slo: snapshot)
        var bytes: [UInt8] = []
        try await metrics.write(slo: snapshot, format: .protobuf) { bytes += Array($0.readableBytesView) }
        let families = try Self.decode(bytes)

        // Every text sample, from the protobuf families (classic histograms expanded as the
        // text format writes them).
        var fromProtobuf: Set<String> = []
        for family in families {
            for metric in family.metric {
                let labels = metric.label.map { "\($0.name)=\"\(ExpositionWriter.escape($0.value))\"" }
                func line(_ suffix: String, _ extra: [String], _ value: Double) {
                    fromProtobuf.insert("\(family.name)\(suffix){\((labels + extra).joined(separator: ","))} \(Self.number(value))")
                }
                switch family.type {
                case .gauge: line("", [], metric.gauge.value)
                case .counter: line("", [], metric.counter.value)
                case .histogram:
                    let h = metric.histogram
                    guard !h.bucket.isEmpty else { continue }
                    for b in h.bucket { line("_bucket", ["le=\"\(b.upperBound)\""], Double(b.cumulativeCount)) }
                    line("_bucket", [#"le="+Inf""#], Double(h.sampleCount))
                    line("_sum", [], h.sampleSum)
                    line("_count", [], Double(h.sampleCount))
                default: Issue.record("unexpected type \(family.type) of \(family.name)")
                }
            }
        }
        let fromText = Set(text.split(separator: "\n").filter { !$0.hasPrefix("#") && !$0.hasPrefix("process_") }
            .map { Self.normalized(String($0)) })
        let protobufLines = Set(fromProtobuf.filter { !$0.hasPrefix("process_") }.map(Self.normalized))
        #expect(fromText.subtracting(protobufLines).isEmpty, "only in text: \(fromText.subtracting(protobufLines).sorted().prefix(5))")
        #expect(protobufLines.subtracting(fromText).isEmpty, "only in protobuf: \(protobufLines.subtracting(fromText).sorted().prefix(5))")

        // Native histograms: the duration (with its exemplars) and one per phase.
        let duration = try #require(families.first { $0.name == "phasewatch_probe_duration_seconds" })
        let apiDuration = try #require(duration.metric.first { $0.label.contains { $0.value == "api" } }).histogram
        #expect(apiDuration.schema == 5 && apiDuration.zeroThreshold > 0 && apiDuration.sampleCount == 3)
        #expect(apiDuration.positiveDelta.reduce(0, +) == 3, "one bucket holds all three: \(apiDuration.positiveDelta)")
        #expect(apiDuration.exemplars.map { $0.label.first?.value } == ["4bf92f3577b34da6a3ce929d0e0e4736"])
        #expect(apiDuration.bucket.contains { $0.hasExemplar })
        let phases = try #require(families.first { $0.name == "phasewatch_probe_phase_duration_seconds" })
        #expect(phases.metric.count == 10, "five phases of two targets")
        #expect(phases.metric.allSatisfy { $0.histogram.bucket.isEmpty && $0.histogram.schema == 5 })
        let tls = try #require(phases.metric.first { $0.label.contains { $0.value == "api" } && $0.label.contains { $0.value == "tls" } })
        #expect(tls.histogram.sampleCount == 4 && abs(tls.histogram.sampleSum - 0.12) < 1e-9)
    }

    /// The stream: a varint length before each message.
    static func decode(_ bytes: [UInt8]) throws -> [Io_Prometheus_Client_MetricFamily] {
        var families: [Io_Prometheus_Client_MetricFamily] = []
        var i = 0
        while i < bytes.count {
            var length = 0, shift = 0
            while true {
                let byte = bytes[i]
                i += 1
                length |= Int(byte & 0x7f) << shift
                shift += 7
                if byte < 0x80 { break }
            }
            families.append(try Io_Prometheus_Client_MetricFamily(serializedBytes: Array(bytes[i..<i + length])))
            i += length
        }
        return families
    }

    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : value.description
    }

    /// `le="1"` and `le="1.0"` are the same bound, `0` and `0.0` the same value; labels in name
    /// order.
    static func normalized(_ line: String) -> String {
        guard let open = line.firstIndex(of: "{"), let close = line.lastIndex(of: "}"),
            let value = Double(line[line.index(close, offsetBy: 2)...])
        else { return line }
        let pairs = line[line.index(after: open)..<close].split(separator: ",").map { pair -> String in
            guard pair.hasPrefix("le=\""), let bound = Double(pair.dropFirst(4).dropLast()) else { return String(pair) }
            return "le=\"\(bound)\""
        }.sorted()
        return String(line[..<open]) + "{" + pairs.joined(separator: ",") + "} " + number(value)
    }
}
