import Foundation
import PhaseWatchCore
import Storage

/// The per-phase latency chart of a target: for each time bucket a bar of the mean time of each
/// phase of its successful probes, stacked in probe order (DNS lookup at the bottom), on a
/// millisecond axis. Inline SVG that scales to its box through `viewBox`.
///
/// One chart value serves every target of a page: what all charts share (time axis, bar
/// positions) is formatted once. Bars are one `<path>` per phase of vertical strokes as wide as
/// a bar, not a `<rect>` per bar: a page of 1,000 charts stays a few megabytes.
struct PhaseChart {
    // The drawing's own units. Small enough that its 12-unit text stays legible when a phone
    // shrinks the chart to ~330 px, large enough for 36 bars.
    static let width = 400.0
    static let height = 170.0
    private static let left = 54.0
    private static let right = 10.0
    private static let top = 9.0
    private static let bottom = 24.0
    private static let plotWidth = width - left - right
    private static let plotHeight = height - top - bottom

    let span: ChartSpan
    /// The x of each bucket's bar (its middle), formatted.
    private let barX: [String]
    private let barWidth: Double
    private let window: String
    private let header: String
    private let timeAxis: String

    init(span: ChartSpan) {
        self.span = span
        let slotWidth = Self.plotWidth / Double(span.buckets)
        let barWidth = max(0.5, slotWidth - min(1.5, slotWidth * 0.2))
        self.barWidth = barWidth
        barX = (0..<span.buckets).map { HTML.short(Self.left + Double($0) * slotWidth + barWidth / 2, 1) }
        window = PromDuration.format(span.length)
        header = "<svg class=\"chart\" viewBox=\"0 0 \(HTML.short(Self.width, 0)) \(HTML.short(Self.height, 0))\" role=\"img\">"

        // Time axis: about six labels counted back from the end ("now").
        let baseline = HTML.short(Self.top + Self.plotHeight, 1)
        var axis = "<path class=\"axis\" d=\"M\(HTML.short(Self.left, 1)) \(baseline)H\(HTML.short(Self.width - Self.right, 1))\"/>"
        axis += "<g class=\"xl\">"
        for back in stride(from: 0, through: span.buckets, by: max(1, span.buckets / 6)) {
            let x = Self.left + Self.plotWidth - Double(back) * slotWidth
            let label = back == 0 ? "now" : "-" + PromDuration.format(span.step * back)
            // The outermost labels align inwards so they stay inside the drawing.
            let align = back == 0 ? " class=\"e\"" : (back == span.buckets ? " class=\"s\"" : "")
            axis += "<text\(align) x=\"\(HTML.short(x, 1))\" y=\"\(HTML.short(Self.height - 6, 1))\">\(label)</text>"
        }
        timeAxis = axis + "</g>"
    }

    func render(_ series: [PhaseMeans], target: String) -> String {
        // Stacked milliseconds per bucket slot; nil where no successful probe ran.
        var slots = [[Double]?](repeating: nil, count: span.buckets)
        for point in series {
            let index = Int((point.start.timeIntervalSince(span.start) / span.stepSeconds).rounded())
            guard slots.indices.contains(index) else { continue }
            slots[index] = PhaseStyle.phases.map { point[$0] * 1000 }
        }
        let highest = slots.compactMap { $0?.reduce(0, +) }.max() ?? 0
        let tick = Self.niceStep(highest > 0 ? highest / 4 : 0.25)
        let top = max(tick, (highest / tick).rounded(.up) * tick)
        func y(_ millis: Double) -> Double { Self.top + Self.plotHeight * (1 - millis / top) }

        // The <title> is the chart's accessible name (role="img") and its tooltip.
        var out = header + "<title>Mean time per phase of the successful probes of \(HTML.escape(target)), "
        out += "last \(window) in \(PromDuration.format(span.step)) buckets</title>"

        // Horizontal grid lines (one path) with their labels in ms.
        var grid = ""
        var labels = ""
        var value = 0.0
        while value <= top + tick / 2 {
            let at = HTML.short(y(value), 1)
            grid += "M\(HTML.short(Self.left, 1)) \(at)H\(HTML.short(Self.width - Self.right, 1))"
            labels += "<text x=\"\(HTML.short(Self.left - 4, 1))\" y=\"\(at)\">\(HTML.short(value, 3)) ms</text>"
            value += tick
        }
        out += "<path class=\"grid\" d=\"\(grid)\"/><g class=\"yl\">\(labels)</g>"

        var paths = [String](repeating: "", count: PhaseStyle.phases.count)
        for (index, stack) in slots.enumerated() {
            guard let stack else { continue }
            var base = 0.0
            for (phase, millis) in stack.enumerated() {
                let lower = y(base)
                let upper = y(base + millis)
                base += millis
                guard lower - upper >= 0.05 else { continue }
                paths[phase] += "M\(barX[index]) \(HTML.short(lower, 1))V\(HTML.short(upper, 1))"
            }
        }
        out += "<g class=\"bars\" stroke-width=\"\(HTML.short(barWidth, 2))\">"
        for (phase, path) in zip(PhaseStyle.phases, paths) where !path.isEmpty {
            out += "<path class=\"\(PhaseStyle.cssClass(phase))\" d=\"\(path)\"/>"
        }
        out += "</g>"
        if highest == 0 {
            out += "<text class=\"empty\" x=\"\(HTML.short(Self.left + Self.plotWidth / 2, 1))\" "
            out += "y=\"\(HTML.short(Self.top + Self.plotHeight / 2, 1))\" text-anchor=\"middle\">"
            out += "no successful probes in the last \(window)</text>"
        }
        out += timeAxis + "</svg>"
        return out + legend(series)
    }

    /// The phases' colours with each phase's mean over the whole chart (weighted by probes), so
    /// the chart can be read without hovering and by people who do not tell the colours apart.
    private func legend(_ series: [PhaseMeans]) -> String {
        let probes = series.reduce(0) { $0 + $1.probes }
        var out = "<ul class=\"legend\">"
        for phase in PhaseStyle.phases {
            let mean = probes == 0 ? nil : series.reduce(0) { $0 + $1[phase] * Double($1.probes) } / Double(probes)
            out += "<li><i class=\"sw \(PhaseStyle.cssClass(phase))\"></i>\(PhaseStyle.label(phase))"
            out += mean.map { " <b>\(HTML.ms($0))</b>" } ?? ""
            out += "</li>"
        }
        out += "</ul>"
        if probes > 0 {
            out += "<p class=\"note\">Means of \(HTML.count(probes)) successful probes over the last \(window).</p>"
        }
        return out
    }

    /// The smallest 1, 2 or 5 × 10ⁿ at least `value`: grid steps people read at a glance.
    static func niceStep(_ value: Double) -> Double {
        guard value > 0, value.isFinite else { return 1 }
        let magnitude = pow(10, log10(value).rounded(.down))
        let fraction = value / magnitude
        let nice: Double = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10
        return nice * magnitude
    }
}
