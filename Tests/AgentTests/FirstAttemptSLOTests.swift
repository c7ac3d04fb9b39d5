@testable import Agent
import Foundation
import PhaseWatchCore
import Storage
import Testing

/// The two availability bases (docs/slo.md#first-attempt-and-final): `sli` stays final,
/// `sli_first_attempt` counts only probes good at their first attempt, and
/// `slo.availability_basis` moves the burn rates, budget, budget_by_phase and alerts; latency
/// SLOs are unchanged.
struct FirstAttemptSLOTests {
    static let window = Duration.seconds(3600)
    /// 100 probes: 80 good at the first attempt, 15 good after a retry, 5 failed (connect).
    static let summary = WindowSummary(total: 100, success: 95, successFirstAttempt: 80, goodLatency: 90, failuresByPhase: [.connect: 5])

    static func status(_ kind: SLOStatus.Kind, basis: AvailabilityBasis, weighting: SLOWeighting = .probes, summary: WindowSummary = summary)
        -> SLOStatus
    {
        SLOStatus(
            target: "t", kind: kind, objective: 0.9, sloWindow: window, threshold: kind == .latency ? .milliseconds(300) : nil,
            summaries: [window: summary, .seconds(300): summary], weighting: weighting, basis: basis)
    }

    /// A report's period numbers (`windowNumbers`) are the status' numbers of its SLO window,
    /// on every basis and weighting.
    @Test func windowNumbersAreTheStatusNumbers() {
        var weighted = Self.summary
        weighted.weighted = WindowSummary.Weighted(total: 61.3, success: 57.1, goodLatency: 50.9, successFirstAttempt: 44.7)
        for summary in [Self.summary, weighted, WindowSummary()] {
            for kind in SLOStatus.Kind.allCases {
                for basis in [AvailabilityBasis.final, .firstAttempt] {
                    for weighting in [SLOWeighting.probes, .time] {
                        let status = Self.status(kind, basis: basis, weighting: weighting, summary: summary)
                        let n = SLOStatus.windowNumbers(summary, kind: kind, objective: 0.9, weighting: weighting, basis: basis)
                        #expect(n.sli == status.sli["1h"] && n.sliFirstAttempt == status.sliFirstAttempt?["1h"])
                        #expect(n.consumed == status.errorBudget.consumed, "\(kind) \(basis) \(weighting)")
                    }
                }
            }
        }
    }

    @Test func bothSLIsShownAndTheBasisMovesTheBudget() throws {
        let final = Self.status(.availability, basis: .final)
        let first = Self.status(.availability, basis: .firstAttempt)
        for status in [final, first] {
            #expect(status.sli["1h"] == 0.95)
            #expect(status.sliFirstAttempt?["1h"] == 0.8)
            #expect(status.sliFirstAttempt?["5m"] == 0.8)
            #expect(status.probes == SLOStatus.Probes(total: 100, good: 95, bad: 5, goodFirstAttempt: 80))
        }
        #expect(final.basis == .final && first.basis == .firstAttempt)
        // final: 5 bad of 100 against a budget of 10 %.
        let finalConsumed = try #require(final.errorBudget.consumed)
        #expect(abs(finalConsumed - 0.5) < 1e-12)
        #expect(abs(try #require(final.burnRate["1h"]) - 0.5) < 1e-12)
        #expect(final.budgetByPhase.keys.sorted() == ["connect"])
        // first_attempt: 20 bad, the 15 retried among them.
        let consumed = try #require(first.errorBudget.consumed)
        #expect(abs(consumed - 2) < 1e-12)
        #expect(abs(try #require(first.errorBudget.remaining) - -1) < 1e-12)
        #expect(abs(try #require(first.burnRate["1h"]) - 2) < 1e-12)
        #expect(abs(try #require(first.budgetByPhase["retried"]) - 1.5) < 1e-12)
        #expect(abs(try #require(first.budgetByPhase["connect"]) - 0.5) < 1e-12)
        #expect(abs(first.budgetByPhase.values.reduce(0, +) - consumed) < 1e-12)
        // Burn rate 2 over both 1h and 5m: above the ticket alert's 1 (3d & 6h are not given), under the pages' 6 and 14.4.
        #expect(first.firingAlerts.isEmpty && final.firingAlerts.isEmpty)
    }

    @Test func alertsFollowTheBasis() {
        // 50 of 100 good only after a retry: a burn rate of 5 on the first-attempt basis over 1h,
        // a page alert's long window needs 14.4, so with objective 0.99 (budget 1 %): 50.
        func status(_ basis: AvailabilityBasis) -> SLOStatus {
            let s = WindowSummary(total: 100, success: 100, successFirstAttempt: 50, goodLatency: 100)
            return SLOStatus(
                target: "t", kind: .availability, objective: 0.99, sloWindow: .seconds(30 * 86_400), threshold: nil,
                summaries: [.seconds(3600): s, .seconds(300): s], basis: basis)
        }
        #expect(status(.final).firingAlerts.isEmpty)
        #expect(status(.firstAttempt).firingAlerts.map(\.long) == ["1h"])
    }

    @Test func timeWeightedFirstAttemptUsesTheWeightedSum() throws {
        var s = Self.summary
        s.weighted = WindowSummary.Weighted(total: 50, success: 45, goodLatency: 40, successFirstAttempt: 30)
        let first = Self.status(.availability, basis: .firstAttempt, weighting: .time, summary: s)
        #expect(first.sli["1h"] == 0.9)
        #expect(first.sliFirstAttempt?["1h"] == 0.6)
        #expect(abs(try #require(first.errorBudget.consumed) - 4) < 1e-12)
        #expect(abs(first.budgetByPhase.values.reduce(0, +) - 4) < 1e-12)
    }

    @Test func latencySLOsIgnoreTheBasis() throws {
        let final = Self.status(.latency, basis: .final)
        let first = Self.status(.latency, basis: .firstAttempt)
        #expect(final == first)
        #expect(first.sliFirstAttempt == nil && first.basis == nil && first.probes.goodFirstAttempt == nil)
        #expect(first.sli["1h"] == 0.9)
        #expect(first.budgetByPhase["retried"] == nil)
        let json = try #require(String(data: JSONEncoder().encode(first), encoding: .utf8))
        #expect(!json.contains("first_attempt") && !json.contains("basis"))
        let availability = try #require(String(data: JSONEncoder().encode(Self.status(.availability, basis: .firstAttempt)), encoding: .utf8))
        #expect(availability.contains(#""basis":"first_attempt""#) && availability.contains(#""good_first_attempt":80"#))
        #expect(availability.contains(#""sli_first_attempt":{"#))
    }
}
