import Foundation
import PhaseWatchCore

/// The HTML waterfall of one probe: a row per network phase with a bar placed where the phase
/// began and as wide as it lasted, on the scale of the whole probe, and its milliseconds. The
/// phase a failed probe failed in is marked in words as well as colour.
enum ProbeWaterfall {
    static func render(_ result: ProbeResult, now: Date) -> String {
        let timed = PhaseStyle.phases.compactMap { result.phases[$0] }.reduce(0, +)
        let scale = max(result.duration, timed, 1e-9)
        let failedPhase = result.failure?.phase
        var out = "<div class=\"wf\">"
        var offset = 0.0
        for phase in PhaseStyle.phases {
            let failedHere = failedPhase == phase
            out += "<span class=\"ph\(failedHere ? " bad" : "")\">\(PhaseStyle.label(phase))\(failedHere ? " ✗" : "")</span>"
            let seconds: Double
            let shown: String
            if phase == .tls, !failedHere, result.phases.tls == 0, result.tls == nil {
                // Plain HTTP: tls = 0 means "no handshake", not "a fast one" (docs/probing.md#phases).
                out += "<span class=\"track\"></span><span class=\"ms na\">no TLS</span>"
                continue
            }
            if let timedSeconds = result.phases[phase] {
                seconds = timedSeconds
                shown = HTML.ms(timedSeconds)
            } else if failedHere {
                // The phase was cut short by the failure: curl gives it no time, but the rest of
                // the probe's duration was spent in it.
                seconds = max(0, result.duration - offset)
                shown = HTML.ms(seconds)
            } else {
                out += "<span class=\"track\"></span><span class=\"ms na\">not reached</span>"
                continue
            }
            let left = min(100, offset / scale * 100)
            let width = min(100 - left, seconds / scale * 100)
            let barClass = failedHere ? "bar failed" : "bar \(PhaseStyle.cssClass(phase))"
            out += "<span class=\"track\"><span class=\"\(barClass)\" style=\"left:\(HTML.short(left, 2))%;"
            out += "width:\(HTML.short(width, 2))%\"></span></span><span class=\"ms\">\(shown)</span>"
            offset += seconds
        }
        out += "<span class=\"ph total\">Total</span><span></span><span class=\"ms total\">\(HTML.ms(result.duration))</span></div>"
        if let failure = result.failure {
            out += "<p class=\"failure\"><strong>Failed in \(failure.phase.humanName):</strong> "
            out += "<code>\(HTML.escape(failure.reason.rawValue))</code> — \(HTML.escape(failure.message))</p>"
        }
        out += facts(result, now: now)
        return out
    }

    /// One line of what the probe learned: HTTP, TLS, certificate, address, attempts.
    private static func facts(_ r: ProbeResult, now: Date) -> String {
        var parts: [String] = []
        if let http = r.http {
            var part = "HTTP/\(HTML.escape(http.version)) <strong>\(http.status)</strong>, \(HTML.count(http.bodyBytes)) B"
            if http.redirects > 0 { part += ", \(http.redirects) redirect\(http.redirects == 1 ? "" : "s")" }
            parts.append(part)
        }
        if let tls = r.tls {
            let protocolParts = [tls.version, tls.alpn.map { "ALPN \($0)" }].compactMap { $0 }
            if !protocolParts.isEmpty { parts.append(HTML.escape(protocolParts.joined(separator: ", "))) }
            if let subject = tls.subject {
                var part = "cert " + HTML.escape(subject)
                if let issuer = tls.issuer { part += " by " + HTML.escape(issuer) }
                if let notAfter = tls.certNotAfter {
                    let days = Int((notAfter.timeIntervalSince(now) / 86_400).rounded(.down))
                    part += ", expires \(Timestamp.day(notAfter)) (\(days) d)"
                }
                parts.append(part)
            }
        }
        if let ip = r.ip { parts.append("\(HTML.escape(ip.address)) (IPv\(ip.family))") }
        if r.attempts > 1 { parts.append("\(r.attempts) attempts") }
        if r.connectionReused { parts.append("connection reused") }
        // For finding the probe in the target's own logs and traces (it sent a traceparent).
        parts.append("trace <code>\(HTML.escape(r.traceId))</code>")
        var out = "<p class=\"facts\">Last probe \(HTML.time(r.startedAt, now: now))"
        if !parts.isEmpty { out += " · " + parts.joined(separator: " · ") }
        return out + "</p>"
    }
}
