import PhaseWatchCore

/// Per-phase seconds from curl's timestamps, with the formulas of docs/probing.md#phases:
/// resolve = namelookup; connect = connect − namelookup; tls = appconnect − connect (0 without
/// TLS); processing = starttransfer − max(pretransfer, appconnect, connect);
/// transfer = total − starttransfer. curl sums each timestamp over redirects, so the phases are
/// summed too.
///
/// A phase never reached is absent. When the transfer failed, the time not accounted for by the
/// phases it finished is the time spent in the failing phase up to the failure.
enum PhaseBreakdown {
    static func phases(_ t: CurlTimings, usedTLS: Bool, failedIn failing: Phase?) -> Phases {
        func seconds(_ micros: Int64) -> Double { Double(max(0, micros)) / 1e6 }
        var p = Phases()
        if t.namelookup > 0 { p.resolve = seconds(t.namelookup) }
        if t.connect > 0 {
            p.connect = seconds(t.connect - t.namelookup)
            if !usedTLS { p.tls = 0 }
        }
        if usedTLS, t.appconnect > 0 { p.tls = seconds(t.appconnect - t.connect) }
        if t.starttransfer > 0 {
            p.processing = seconds(t.starttransfer - max(t.pretransfer, t.appconnect, t.connect))
            p.transfer = seconds(t.total - t.starttransfer)
        }
        if let failing, Phase.network.contains(failing) {
            // Total minus the phases before it, so the phases add up to the duration. (curl's sums
            // may show a later phase, e.g. a first byte before a status line that never ended.)
            let accounted = Phase.network.compactMap { $0 < failing ? p[$0] : nil }.reduce(0, +)
            let spent = max(0, seconds(t.total) - accounted)
            p[failing] = spent
            // Phases after the failing one were never reached, whatever curl's sums say.
            for later in Phase.network where later > failing { p[later] = nil }
        }
        return p
    }
}
