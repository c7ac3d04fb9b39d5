import PhaseWatchCore
import Testing

struct SLOMathTests {
    @Test func sliIsAbsentWithoutProbes() {
        #expect(SLOMath.sli(good: 0, total: 0) == nil)
        #expect(SLOMath.sli(good: 999, total: 1000) == 0.999)
        #expect(SLOMath.burnRate(sli: nil, objective: 0.999) == nil)
        #expect(SLOMath.consumed(bad: 0, total: 0, objective: 0.999) == nil)
    }

    @Test func burnRateAndBudget() throws {
        // 99.9 %: budget 0.1 %. An SLI of 99 % burns 10× faster than the budget allows.
        let rate = try #require(SLOMath.burnRate(sli: 0.99, objective: 0.999))
        #expect(abs(rate - 10) < 1e-9)
        #expect(abs(SLOMath.budget(objective: 0.999) - 0.001) < 1e-12)
        // 5 bad of 10,000 probes at 99.9 %: half the budget used.
        let consumed = try #require(SLOMath.consumed(bad: 5, total: 10_000, objective: 0.999))
        #expect(abs(consumed - 0.5) < 1e-9)
        // Over budget: remaining goes negative.
        let over = try #require(SLOMath.consumed(bad: 30, total: 10_000, objective: 0.999))
        #expect(1 - over < 0)
    }

    @Test func workbookTableFor30Days() {
        let alerts = BurnRateAlert.alerts(sloWindow: .seconds(30 * 86_400))
        #expect(alerts == BurnRateAlert.thirtyDayTable)
        #expect(alerts.map(\.threshold) == [14.4, 6, 3, 1])
        #expect(alerts.map(\.severity) == [.page, .page, .ticket, .ticket])
    }

    @Test func windowsScaleWithTheSLOWindow() {
        // A 7-day SLO: 1 h → 14 min, 5 m → 70 s, 3 d → 16.8 h.
        let alerts = BurnRateAlert.alerts(sloWindow: .seconds(7 * 86_400))
        #expect(alerts[0].long == .seconds(840))
        #expect(alerts[0].short == .seconds(70))
        #expect(alerts[3].long == .seconds(60_480))
        #expect(alerts[0].threshold == 14.4)
    }

    @Test func firesOnlyWhenBothWindowsBurn() {
        let page = BurnRateAlert.thirtyDayTable[0]
        #expect(page.firing(longBurn: 15, shortBurn: 20))
        #expect(!page.firing(longBurn: 15, shortBurn: 2))  // already recovering
        #expect(!page.firing(longBurn: 2, shortBurn: 20))  // a blip
        #expect(!page.firing(longBurn: nil, shortBurn: 20))
    }

    @Test func windowListIsSortedAndUnique() {
        let windows = SLIWindows.all(sloWindow: .seconds(30 * 86_400))
        #expect(windows == windows.sorted())
        #expect(Set(windows).count == windows.count)
        #expect(windows.first == .seconds(300))
        #expect(windows.last == .seconds(30 * 86_400))
    }
}
