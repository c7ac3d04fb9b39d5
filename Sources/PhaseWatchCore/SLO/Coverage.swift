/// How much of a window was observed (docs/slo.md#coverage): pure arithmetic on time spans, so
/// it is tested without a clock or a database.
///
/// A target is *configured* from the moment a config that has it is in force until one without
/// it is; the agent is *running* from its start to its stop, or to its last heartbeat when it
/// died. Within a window:
///
///     configured = |window ∩ configured spans|
///     observed   = |window ∩ configured spans ∩ running spans|
///     unobserved = configured − observed
///     coverage   = min(1, probes ÷ (configured ÷ interval))
///
/// where `probes` counts each probe as the share of the interval it stands for (its weight: 1 at
/// the target's interval), so probing faster while failing does not cover more than the time.
public enum Coverage {
    /// [from, to) in microseconds since the Unix epoch.
    public struct Span: Sendable, Equatable {
        public var from: Int64
        public var to: Int64

        public init(from: Int64, to: Int64) {
            self.from = from
            self.to = to
        }

        public var length: Int64 { max(0, to - from) }
    }

    /// The spans sorted, without empty ones, overlapping and touching ones joined.
    public static func merged(_ spans: [Span]) -> [Span] {
        var out: [Span] = []
        for span in spans.filter({ $0.length > 0 }).sorted(by: { $0.from < $1.from }) {
            if let last = out.last, span.from <= last.to {
                out[out.count - 1].to = max(last.to, span.to)
            } else {
                out.append(span)
            }
        }
        return out
    }

    /// The time both sets of spans cover.
    public static func intersection(_ a: [Span], _ b: [Span]) -> [Span] {
        let a = merged(a), b = merged(b)
        var out: [Span] = []
        var i = 0, j = 0
        while i < a.count, j < b.count {
            let from = max(a[i].from, b[j].from), to = min(a[i].to, b[j].to)
            if from < to { out.append(Span(from: from, to: to)) }
            if a[i].to < b[j].to { i += 1 } else { j += 1 }
        }
        return out
    }

    public static func length(_ spans: [Span]) -> Int64 { merged(spans).reduce(0) { $0 + $1.length } }

    /// Configured and observed microseconds of `window`.
    public static func observation(configured: [Span], running: [Span], window: Span) -> (configured: Int64, observed: Int64) {
        let inWindow = intersection(configured, [window])
        return (length(inWindow), length(intersection(inWindow, running)))
    }

    /// Probes ÷ the slots the configured time holds, at most 1; nil when nothing was configured.
    public static func ratio(probes: Double, configuredSeconds: Double, intervalSeconds: Double) -> Double? {
        guard configuredSeconds > 0, intervalSeconds > 0 else { return nil }
        return min(1, probes / (configuredSeconds / intervalSeconds))
    }
}
