import Foundation
import PhaseWatchCore

/// The status page at `GET /`: one self-contained HTML document (inline CSS and SVG, no script,
/// no external asset: the agent often runs where nothing else is reachable). A pure function of
/// the model. Every text that comes from config or probes passes through `HTML.escape`.
enum StatusPage {
    /// Seconds between the page's own reloads.
    static let refreshSeconds = 30

    static func render(_ model: StatusPageModel) -> String {
        var out = ""
        // One allocation up front, sized for a target's usual share of the page, instead of
        // doubling through megabytes.
        out.reserveCapacity(4096 + model.targets.count * 8192)
        out += """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta http-equiv="refresh" content="\(refreshSeconds)">
            <link rel="icon" href="data:,">
            <title>phasewatch · \(HTML.escape(model.location))</title>
            <style>\(css)</style></head><body>

            """
        out += header(model)
        out += "<main>"
        if model.targets.isEmpty {
            out += "<p class=\"empty-page\">No targets configured.</p>"
        }
        let chart = PhaseChart(span: model.span)
        for target in model.targets {
            out += section(target, model: model, chart: chart)
        }
        out += "</main></body></html>\n"
        return out
    }

    private static func header(_ model: StatusPageModel) -> String {
        var out = "<header><h1>phasewatch <span class=\"loc\">\(HTML.escape(model.location))</span></h1>"
        out += "<p class=\"meta\">version \(HTML.escape(model.version)) · "
        if let asOf = model.sloAsOf {
            out += "SLO data as of \(HTML.time(asOf, now: model.now))"
        } else {
            out += "no SLO data yet"
        }
        out += " · reloads every \(refreshSeconds) s</p>"
        let coverage = model.shard
        if coverage.shard.total > 1 {
            out += "<p class=\"meta shard\">shard \(coverage.shard.index) of \(coverage.shard.total), "
            out += "\(HTML.count(coverage.owned)) of \(HTML.count(coverage.configured)) targets</p>"
        }
        if let error = model.sloError {
            out += "<p class=\"alert\">SLO status unavailable: \(HTML.escape(error))</p>"
        }
        let counts = model.stateCounts
        out += "<p class=\"counts\">\(HTML.count(model.targets.count)) target\(model.targets.count == 1 ? "" : "s"):"
        for state in [TargetState.up, .degraded, .down, .unknown] {
            let label = state.label.split(separator: " ", maxSplits: 1)
            out += " <span class=\"badge \(state.rawValue)\">\(label[0]) \(HTML.count(counts[state] ?? 0)) \(label[1])</span>"
        }
        out += "</p>"
        // With hundreds of targets the ones that need a look must not hide far down the page.
        let attention = model.targets.filter { $0.state == .down || $0.state == .degraded }
        if !attention.isEmpty {
            out += "<nav class=\"attention\">Needs attention:"
            for target in attention {
                out += " <a class=\"\(target.state.rawValue)\" href=\"#\(anchor(target.name))\">\(HTML.escape(target.name))"
                out += " (\(target.state.rawValue))</a>"
            }
            out += "</nav>"
        }
        return out + "</header>"
    }

    private static func anchor(_ name: String) -> String { "t-" + HTML.escape(name) }

    private static func section(_ target: StatusPageModel.TargetView, model: StatusPageModel, chart: PhaseChart) -> String {
        let state = target.state.rawValue
        var out = "<section class=\"target \(state)\" id=\"\(anchor(target.name))\"><div class=\"head\">"
        out += "<h2>\(HTML.escape(target.name))</h2><span class=\"badge \(state)\">\(target.state.label)</span></div>"
        out += "<p class=\"url\">\(HTML.escape(target.method)) <code>\(HTML.escape(target.url))</code>"
        out += " · every \(PromDuration.format(target.effectiveInterval))"
        if target.effectiveInterval != target.interval { out += " while failing (\(PromDuration.format(target.interval)) otherwise)" }
        out += "</p>"
        out += "<p class=\"state\">\(HTML.escape(target.stateReason))"
        if let since = target.stateSince { out += " · \(state) since \(HTML.time(since, now: model.now))" }
        out += "</p><div class=\"cols\"><div class=\"c-probe\"><h3>Last probe</h3>"
        if let last = target.last {
            out += ProbeWaterfall.render(last, now: model.now)
        } else {
            out += "<p class=\"muted\">No probe yet.</p>"
        }
        if target.ipPolicy == .all { out += addresses(target.addresses, success: target.addressSuccess) }
        if let c = target.coldWarm {
            // docs/probing.md#connections: what a first-time visitor pays that a pooled client does not.
            out += "<p class=\"coldwarm\">Cold \(HTML.ms(c.cold)) · warm \(HTML.ms(c.warm)) (medians, last hour): "
            out += "lookup, connect and TLS cost \(HTML.ms(c.setup)) of every cold request</p>"
        }
        out += "</div><div class=\"c-slo\"><h3>SLOs</h3>" + slos(target.slo)
        if let strip = target.strip { out += days(strip, target: target.name) }
        out += "</div>"
        out += "<div class=\"c-chart\"><h3>Time per phase, last \(PromDuration.format(model.span.length))</h3>"
        switch target.chart {
        case .series(let series):
            out += chart.render(series, target: target.name)
        case .unavailable(let why):
            out += "<p class=\"alert\">History unavailable: \(HTML.escape(why))</p>"
        }
        out += "</div></div>"
        return out + "</section>\n"
    }

    /// An `ip_policy: all` target's addresses with their last result (docs/probing.md#addresses):
    /// the one broken address a good run under `success: any` does not show.
    private static func addresses(_ results: [ProbeResult], success: AddressSuccess) -> String {
        let rule = success == .all ? "every address must answer" : "one good address is enough"
        var out = "<h3>Addresses</h3><p class=\"note\">Each probed every run; \(rule) (success: \(success.rawValue))</p>"
        guard !results.isEmpty else { return out + "<p class=\"muted\">No run has resolved the name yet.</p>" }
        out += "<ul class=\"addresses\">"
        for r in results {
            out += "<li><code>\(HTML.escape(r.address ?? ""))</code> "
            if let failure = r.failure {
                out += "<span class=\"alert\">failed</span> in \(PhaseStyle.label(failure.phase)): \(HTML.escape(failure.reason.rawValue))"
            } else {
                out += "<span class=\"ok\">ok</span> \(HTML.ms(r.duration))"
            }
            out += "</li>"
        }
        return out + "</ul>"
    }

    /// The 90-day strip: a cell per UTC day linking to that day's report by hour
    /// (docs/api.md#get-apiv1targetsnamereport).
    private static func days(_ strip: DayStrip, target: String) -> String {
        var out = "<p class=\"note\">Availability per day, last \(strip.days.count) days (UTC)</p><div class=\"days\">"
        let base = "/api/v1/targets/\(HTML.escape(target))/report?step=1h&amp;from="
        for day in strip.days {
            let date = Timestamp.day(day.start)
            let next = Timestamp.day(day.start.addingTimeInterval(DayStrip.day))
            var title = date
            if let sli = day.sli { title += " \(HTML.percent(sli)) of \(HTML.count(day.probes))" } else { title += " no probes" }
            if let coverage = day.coverage, day.verdict == .unknown, day.sli != nil { title += ", \(HTML.percent(coverage, decimals: 1)) probed" }
            out += "<a class=\"\(day.verdict.rawValue)\" href=\"\(base)\(date)&amp;to=\(next)\" title=\"\(title)\"></a>"
        }
        return out + "</div>"
    }

    private static func slos(_ section: StatusPageModel.SLOSection) -> String {
        switch section {
        case .notConfigured:
            return "<p class=\"muted\">No SLO configured for this target (no <code>slo</code> section).</p>"
        case .pending:
            return "<p class=\"muted\">SLO status not computed yet.</p>"
        case .unavailable(let why):
            return "<p class=\"alert\">SLO status unavailable: \(HTML.escape(why))</p>"
        case .statuses(let statuses):
            return statuses.map(slo).joined()
        }
    }

    private static func slo(_ status: SLOStatus) -> String {
        var title = status.slo == .availability ? "Availability" : "Latency"
        if let threshold = status.threshold { title += " ≤ \(HTML.ms(threshold))" }
        var out = "<div class=\"slo\"><p><strong>\(title)</strong> · objective \(HTML.percent(status.objective))"
        out += " over \(HTML.escape(status.window))</p>"
        guard let sli = status.sli[status.window], let remaining = status.errorBudget.remaining else {
            return out + "<p class=\"muted\">No probes in the window yet.</p></div>"
        }
        // Too little of the window observed: its numbers are shown, but grey, not green
        // (docs/slo.md#coverage).
        let insufficient = status.data == .insufficient
        let level = insufficient ? "unknown" : (remaining < 0 ? "down" : (remaining < 0.25 ? "degraded" : "up"))
        out += "<p>SLI <b>\(HTML.percent(sli))</b> · error budget left <b class=\"\(level)\">\(HTML.percent(remaining, decimals: 1))</b>"
        if remaining < 0 { out += " (overspent)" }
        out += "</p><div class=\"meter\" role=\"presentation\"><span class=\"\(level)\" "
        out += "style=\"width:\(HTML.short(min(1, max(0, remaining)) * 100, 1))%\"></span></div>"
        out += "<p class=\"note\">\(HTML.count(status.probes.total)) probes, \(HTML.count(status.probes.bad)) bad"
        if let coverage = status.coverage { out += " · \(HTML.percent(coverage, decimals: 1)) of the window probed" }
        out += "</p>"
        if insufficient {
            out += "<p class=\"muted\">Insufficient data: below the \(HTML.percent(status.minCoverage)) coverage this SLO asks for"
            if status.unobservedSeconds >= 1 { out += "; no agent ran for \(PromDuration.format(.seconds(Int(status.unobservedSeconds)))) of it" }
            out += ".</p>"
        }
        let firing = status.firingAlerts
        if firing.isEmpty {
            out += "<p class=\"ok\">No burn-rate alert firing.</p>"
        } else {
            out += "<ul class=\"alerts\">"
            for alert in firing {
                let long = status.burnRate[alert.long].map { HTML.short($0, 1) } ?? "–"
                let short = status.burnRate[alert.short].map { HTML.short($0, 1) } ?? "–"
                let level = alert.severity == .page ? "down" : "degraded"
                out += "<li class=\"\(level)\"><strong>\(alert.severity.rawValue.uppercased())</strong>"
                out += " firing: burn rate \(long) over \(HTML.escape(alert.long)) and \(short) over \(HTML.escape(alert.short))"
                out += ", above \(HTML.short(alert.threshold, 1))</li>"
            }
            out += "</ul>"
        }
        return out + "</div>"
    }

    /// Light and dark colours; a single column below 700 px; long words (URLs, messages) wrap
    /// instead of widening the page.
    static let css = """
        :root{color-scheme:light dark;--bg:#f5f6f8;--card:#fff;--fg:#1f2328;--muted:#5a636e;--line:#d5dbe1;\
        --up:#1a7f37;--degraded:#9a6700;--down:#cf222e;--unknown:#6e7781;--resolve:#8250df;--connect:#0969da;\
        --tls:#1b998b;--processing:#e8912d;--transfer:#d6336c}
        @media (prefers-color-scheme:dark){:root{--bg:#0d1117;--card:#161b22;--fg:#e6edf3;--muted:#9198a1;\
        --line:#30363d;--up:#3fb950;--degraded:#d29922;--down:#f85149;--unknown:#9198a1}}
        *{box-sizing:border-box}
        body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;\
        overflow-wrap:anywhere}
        header,main{max-width:1100px;margin:0 auto;padding:8px 14px}
        h1{font-size:22px;margin:6px 0}h1 .loc{color:var(--muted);font-weight:400}
        h2{font-size:17px;margin:0}h3{font-size:13px;margin:10px 0 4px;color:var(--muted);text-transform:uppercase;letter-spacing:.04em}
        p{margin:3px 0}code{font-size:12.5px}a{color:inherit}
        .meta,.muted,.note,.url,.state{color:var(--muted)}.note{font-size:12px}
        .alert{color:var(--down);font-weight:600}.ok{color:var(--up)}
        .badge{display:inline-block;padding:1px 9px;border-radius:10px;color:var(--card);font-weight:600;font-size:12.5px;white-space:nowrap}
        .badge.up{background:var(--up)}.badge.degraded{background:var(--degraded)}.badge.down{background:var(--down)}\
        .badge.unknown{background:var(--unknown)}
        b.up,.alerts .up{color:var(--up)}b.degraded,.alerts .degraded,a.degraded{color:var(--degraded)}\
        b.down,.alerts .down,a.down{color:var(--down)}b.unknown{color:var(--unknown)}
        .attention a{font-weight:600;margin-right:4px}
        .target{background:var(--card);border:1px solid var(--line);border-left:6px solid var(--unknown);border-radius:6px;\
        padding:10px 14px;margin:12px 0}
        .target.up{border-left-color:var(--up)}.target.degraded{border-left-color:var(--degraded)}.target.down{border-left-color:var(--down)}
        .head{display:flex;flex-wrap:wrap;gap:6px 12px;align-items:center}
        .cols{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);grid-template-rows:auto 1fr;\
        grid-template-areas:"probe slo" "chart slo";gap:4px 28px}
        .c-probe{grid-area:probe}.c-slo{grid-area:slo}.c-chart{grid-area:chart}
        .wf{display:grid;grid-template-columns:8.5em minmax(0,1fr) 6.5em;gap:3px 8px;align-items:center;font-size:13px}
        .wf .track{position:relative;height:12px;border-radius:2px;background:linear-gradient(var(--line),var(--line)) 0 50%/100% 1px no-repeat}
        .wf .bar{position:absolute;top:0;bottom:0;min-width:2px;border-radius:2px}
        .wf .bar.failed{background:repeating-linear-gradient(45deg,var(--down) 0 4px,transparent 4px 7px);border:1px solid var(--down)}
        .wf .ms{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}.wf .na{color:var(--muted);font-size:12px}
        .wf .bad{color:var(--down);font-weight:600}.wf .total{font-weight:600}
        .failure{color:var(--down);margin-top:6px}.facts{font-size:12.5px;color:var(--muted);margin-top:6px}
        .slo{border-top:1px solid var(--line);padding:4px 0 6px}.slo:first-of-type{border-top:0}
        .days{display:flex;gap:1px;margin:2px 0 6px}.days a{flex:1;height:16px;border-radius:1px;background:var(--unknown)}\
        .days a.met{background:var(--up)}.days a.missed{background:var(--down)}
        .meter{height:6px;background:var(--line);border-radius:3px;overflow:hidden;margin:3px 0}
        .meter span{display:block;height:100%}.meter .up{background:var(--up)}.meter .degraded{background:var(--degraded)}\
        .meter .down{background:var(--down)}.meter .unknown{background:var(--unknown)}
        .alerts{margin:3px 0;padding-left:18px}.addresses{margin:3px 0;padding-left:18px;font-size:13px}
        .p-resolve{background:var(--resolve);stroke:var(--resolve)}.p-connect{background:var(--connect);stroke:var(--connect)}\
        .p-tls{background:var(--tls);stroke:var(--tls)}.p-processing{background:var(--processing);stroke:var(--processing)}\
        .p-transfer{background:var(--transfer);stroke:var(--transfer)}
        svg.chart{display:block;width:100%;height:auto}.bars path{fill:none}
        svg text{font-size:12px;fill:var(--muted)}svg .grid{stroke:var(--line);stroke-width:.6;fill:none}\
        svg .axis{stroke:var(--muted);stroke-width:.8}.yl text{text-anchor:end;dominant-baseline:middle}
        .xl text{text-anchor:middle}.xl .s{text-anchor:start}.xl .e{text-anchor:end}
        .legend{list-style:none;padding:0;margin:4px 0;display:flex;flex-wrap:wrap;gap:2px 14px;font-size:12.5px}
        .sw{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:5px}
        @media (max-width:700px){.cols{grid-template-columns:minmax(0,1fr);grid-template-rows:none;\
        grid-template-areas:"probe" "slo" "chart"}header,main{padding:6px 8px}.target{padding:8px 10px}\
        .wf{grid-template-columns:7.5em minmax(0,1fr) 5.8em;font-size:12.5px}}
        """
}
