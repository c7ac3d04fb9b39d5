import PhaseWatchCore
import Testing

/// The arithmetic of docs/slo.md#coverage, without a clock.
struct CoverageTests {
    typealias Span = Coverage.Span

    @Test func mergedJoinsOverlappingAndTouchingSpansAndDropsEmptyOnes() {
        let spans = [Span(from: 50, to: 60), Span(from: 0, to: 10), Span(from: 10, to: 20), Span(from: 15, to: 18), Span(from: 30, to: 30)]
        #expect(Coverage.merged(spans) == [Span(from: 0, to: 20), Span(from: 50, to: 60)])
        #expect(Coverage.length(spans) == 30)
    }

    @Test func intersectionKeepsWhatBothCover() {
        let a = [Span(from: 0, to: 100), Span(from: 200, to: 300)]
        let b = [Span(from: 50, to: 250), Span(from: 280, to: 400)]
        #expect(Coverage.intersection(a, b) == [Span(from: 50, to: 100), Span(from: 200, to: 250), Span(from: 280, to: 300)])
        #expect(Coverage.intersection(a, []) == [])
    }

    /// Configured from 100 on; the agent ran 0–160 and 200–400 (stopped 160–200); the window is
    /// 50–350: configured 250, observed 210, so 40 unobserved.
    @Test func observationClipsToTheWindowAndTheConfiguredTime() {
        let seen = Coverage.observation(
            configured: [Span(from: 100, to: 1_000)], running: [Span(from: 0, to: 160), Span(from: 200, to: 400)],
            window: Span(from: 50, to: 350))
        #expect(seen.configured == 250)
        #expect(seen.observed == 210)
    }

    @Test func ratioIsProbesOverSlotsAtMostOne() {
        // 10 minutes at 60 s: 10 slots.
        #expect(Coverage.ratio(probes: 8, configuredSeconds: 600, intervalSeconds: 60) == 0.8)
        #expect(Coverage.ratio(probes: 12, configuredSeconds: 600, intervalSeconds: 60) == 1)
        #expect(Coverage.ratio(probes: 3, configuredSeconds: 0, intervalSeconds: 60) == nil)
    }
}
