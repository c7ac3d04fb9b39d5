@testable import Agent
import Foundation
import PhaseWatchCore
import Storage
import TestSupport
import Testing

/// The SLO families of `/metrics` against the snapshot they come from, for targets whose SLOs,
/// windows, phases and alerts differ from one to the next (the writer keeps each line's label
/// text from the previous target, so a difference must still give every line, once).
struct SLOMetricsTests {
    func summary(total: Int, failedIn phases: [Phase]) -> WindowSummary {
        var s = WindowSummary(total: total, success: total - phases.count, goodLatency: total - phases.count - (total > 3 ? 1 : 0),
                              failuresByPhase: Dictionary(phases.map { ($0, 1) }, uniquingKeysWith: +))
        for i in 0..<max(total - phases.count, 0) {
            s.duration.add(0.01 * Double(i + 1))
            s.phases[.connect, default: .init()].add(0.001 * Double(i + 1))
            if i % 2 == 0 { s.phases[.tls, default: .init()].add(0.002) }
        }
        return s
    }

    /// With every optional family (`.everything`) and with the lean default, which keeps the
    /// SLI over the SLO window, the burn rate over the page alerts' long windows and the page
    /// alerts.
    @Test(.requires(.promtool), arguments: [true, false])
    func everyLineOfTheSnapshotOnceWhenTargetsDiffer(everything: Bool) async throws {
        var targets: [Target] = []
        var slos: [String: TargetSLO] = [:]
        let now = Date()
        // (SLO window, SLOs, probes in windows shorter than a day, failed phases)
        let shapes: [(Duration, Bool, Int, [Phase])] = [
            (.seconds(30 * 86_400), true, 10, [.connect]),
            (.seconds(30 * 86_400), true, 10, [.connect]),
            (.seconds(7 * 86_400), false, 10, [.tls, .processing]),  // other windows and alerts, no latency SLO
            (.seconds(30 * 86_400), true, 0, []),  // no probes in the short windows: fewer SLI lines
            (.seconds(30 * 86_400), true, 10, [.resolve]),
        ]
        for (i, (window, latency, recent, failed)) in shapes.enumerated() {
            var target = Target(name: "t\(i)", url: "http://127.0.0.1:1/\(i)")
            target.slo = SLOConfig(window: window, availability: 0.99,
                                   latency: latency ? LatencySLO(threshold: .milliseconds(50), objective: 0.9) : nil)
            targets.append(target)
            let summaries = Dictionary(uniqueKeysWithValues: SLIWindows.all(sloWindow: window).map { w in
                (w, w < .seconds(86_400) ? summary(total: recent, failedIn: recent > 0 ? failed : []) : summary(total: 20, failedIn: failed))
            })
            let latencyWindows = [Duration.seconds(300), .seconds(3600)].map { w in
                LatencyQuantiles(target: target.name, window: w, from: now, to: now, summary: summaries[w] ?? summary(total: recent, failedIn: []))
            }
            slos[target.name] = TargetSLO(target: target.name, slos: SLOStatus.all(for: target, summaries: summaries), latency: latencyWindows)
        }
        let snapshot = try SLOSnapshot(asOf: now, generation: 1, order: targets.map(\.name), targets: slos)
        let metrics = AgentMetrics(location: "l")
        metrics.configure(targets, options: everything ? .everything : .init())
        let text = try await metrics.render(slo: snapshot)
        let lines = text.split(separator: "\n").map(String.init)

        // What each family must hold, written out plainly from the snapshot.
        var expected: [String] = []
        func line(_ name: String, _ target: String, _ pairs: [(String, String)], _ value: Double) {
            let labels = ([("target", target), ("location", "l")] + pairs).map { "\($0.0)=\"\($0.1)\"" }.joined(separator: ",")
            let number = value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : value.description
            expected.append("\(name){\(labels)} \(number)")
        }
        for name in snapshot.order {
            let target = try #require(snapshot.targets[name])
            for slo in target.slos {
                let kind = ("slo", slo.slo.rawValue)
                let pageWindows = Set(slo.alerts.filter { $0.severity == .page }.map(\.long))
                line("phasewatch_slo_objective_ratio", name, [kind], slo.objective)
                for (w, v) in slo.sli where everything || w == slo.window { line("phasewatch_sli_ratio", name, [kind, ("window", w)], v) }
                for (w, v) in slo.burnRate where everything || pageWindows.contains(w) {
                    line("phasewatch_slo_burn_rate", name, [kind, ("window", w)], v)
                }
                if let v = slo.errorBudget.remaining { line("phasewatch_slo_error_budget_remaining_ratio", name, [kind], v) }
                guard everything else {
                    for a in slo.alerts where a.severity == .page {
                        line("phasewatch_slo_alert_firing", name, [kind, ("severity", "page"), ("long", a.long), ("short", a.short)],
                             a.firing ? 1 : 0)
                    }
                    continue
                }
                for (p, v) in slo.budgetByPhase { line("phasewatch_slo_budget_by_phase_ratio", name, [kind, ("phase", p)], v) }
                if let v = slo.errorBudget.consumed { line("phasewatch_slo_error_budget_consumed_ratio", name, [kind], v) }
                for a in slo.alerts {
                    line("phasewatch_slo_alert_firing", name, [kind, ("severity", a.severity.rawValue), ("long", a.long), ("short", a.short)],
                         a.firing ? 1 : 0)
                }
            }
            for window in target.latency where everything {
                for (phase, q) in [("total", window.total)] + window.phases.map({ ($0.key, $0.value) }) {
                    for (label, value) in [("0.5", q.p50), ("0.9", q.p90), ("0.95", q.p95), ("0.99", q.p99)] {
                        if let value {
                            line("phasewatch_latency_quantile_seconds", name, [("phase", phase), ("quantile", label), ("window", window.window)], value)
                        }
                    }
                }
            }
        }
        let written = lines.filter { line in
            ["phasewatch_slo_", "phasewatch_sli_", "phasewatch_latency_quantile"].contains { line.hasPrefix($0) }
                && !line.hasPrefix("phasewatch_slo_snapshot") && !line.hasPrefix("phasewatch_slo_refresh")
        }
        #expect(written.count == expected.count)
        let missing = Set(expected).subtracting(written).sorted(), extra = Set(written).subtracting(expected).sorted()
        #expect(missing.isEmpty && extra.isEmpty, "missing: \(missing.prefix(5)); extra: \(extra.prefix(5))")
        // Shapes really differ: the 7-day target has windows the others lack, t3 has fewer SLIs.
        guard everything else {
            #expect(expected.contains { $0.hasPrefix(#"phasewatch_slo_burn_rate{target="t2",location="l",slo="availability",window="14m"}"#) },
                "a 7-day SLO scales the page windows: \(expected.filter { $0.contains("t2") })")
            #expect(try Promtool.checkMetrics(text).status == 0)
            return
        }
        #expect(expected.contains { $0.hasPrefix(#"phasewatch_sli_ratio{target="t2",location="l",slo="availability",window="7d"}"#) })
        #expect(expected.filter { $0.hasPrefix(#"phasewatch_sli_ratio{target="t3""#) }.count
            < expected.filter { $0.hasPrefix(#"phasewatch_sli_ratio{target="t0""#) }.count)
        let check = try Promtool.checkMetrics(text)
        #expect(check.status == 0, "promtool: \(check.output.prefix(2000))")
    }
}
