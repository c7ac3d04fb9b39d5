import Foundation
import PhaseWatchCore
import Probing

/// The text view of one probe: a per-phase waterfall in the manner of httpstat, then the facts.
enum Waterfall {
    private static let names: [(Phase, String)] = [
        (.resolve, "DNS lookup"), (.connect, "TCP connect"), (.tls, "TLS handshake"),
        (.processing, "Server processing"), (.transfer, "Content transfer"),
    ]
    private static let barWidth = 40

    /// The line after the per-address waterfalls of an `ip_policy: all` run: the target's
    /// result and why (docs/probing.md#addresses).
    static func runSummary(_ own: ProbeResult, addresses: [ProbeResult], success: AddressSuccess) -> String {
        let good = addresses.filter(\.success).count
        var out = "\(own.success ? "OK" : "FAILED")  \(own.target): \(good) of \(addresses.count) addresses answered well (success: \(success.rawValue))"
        if let failure = own.failure { out += "; \(failure.message)" }
        return out + "\n"
    }

    static func render(_ r: ProbeResult) -> String {
        var out = "\(r.success ? "OK" : "FAILED")  \(r.url)\(r.address.map { "  at \($0)" } ?? "")\n"
        if let ip = r.ip { out += "  Connected to \(ip.address) (IPv\(ip.family))\n" }
        if let tls = r.tls {
            let parts = [tls.version, tls.cipher, tls.alpn.map { "ALPN \($0)" }].compactMap { $0 }
            if !parts.isEmpty { out += "  TLS: \(parts.joined(separator: ", "))\n" }
            if let subject = tls.subject {
                var line = "  Certificate: \(subject)"
                if let issuer = tls.issuer { line += ", issued by \(issuer)" }
                if let notAfter = tls.certNotAfter {
                    let days = Int((notAfter.timeIntervalSinceNow / 86_400).rounded(.down))
                    line += ", expires \(Timestamp.day(notAfter)) (\(days) days)"
                }
                out += line + "\n"
            }
        }
        if let http = r.http {
            out += "  HTTP/\(http.version) \(http.status), \(http.bodyBytes) body bytes"
            out += http.redirects > 0 ? ", \(http.redirects) redirects\n" : "\n"
        }
        out += "\n"
        let total = max(r.duration, 1e-9)
        var offset = 0.0
        for (phase, name) in names {
            guard let seconds = r.phases[phase] else {
                out += pad(name, 19) + pad("", 11, left: true) + "   (not reached)\n"
                continue
            }
            let start = Int((offset / total * Double(barWidth)).rounded(.down))
            let width = max(1, Int((seconds / total * Double(barWidth)).rounded()))
            let bar = String(repeating: " ", count: min(start, barWidth - 1))
                + String(repeating: "█", count: min(width, barWidth - min(start, barWidth - 1)))
            let mark = r.failure?.phase == phase ? "  ✗" : ""
            out += pad(name, 19) + pad(millis(seconds), 11, left: true) + "   " + pad(bar, barWidth) + mark + "\n"
            offset += seconds
        }
        out += pad("Total", 19) + pad(millis(r.duration), 11, left: true) + "\n"
        if let failure = r.failure {
            out += "\nFailed in \(failure.phase.humanName): \(failure.reason.rawValue) — \(failure.message)\n"
        }
        if r.attempts > 1 { out += "Attempts: \(r.attempts)\n" }
        out += "Trace ID: \(r.traceId)\n"
        return out
    }

    /// `-v`: each attempt with its hops (request `>` and response `<` headers, secrets
    /// redacted), the TLS facts and every expectation's verdict.
    static func render(_ debug: ProbeDebug) -> String {
        var out = ""
        for a in debug.attempts {
            let outcome = a.failure.map { "FAILED in \($0.phase.rawValue): \($0.reason.rawValue)" } ?? "OK"
            out += "Attempt \(a.attempt): \(outcome), \(millis(a.duration))  (traceparent \(a.traceparent))\n"
            for (i, hop) in a.hops.enumerated() {
                out += "  Hop \(i + 1)  \(hop.url)" + (hop.ip.map { "  (\($0))" } ?? "") + "  at \(millis(hop.start))\n"
                let phases = names.compactMap { phase, name in hop.phases[phase].map { "\(name) \(millis($0))" } }
                if !phases.isEmpty { out += "    " + phases.joined(separator: " · ") + "\n" }
                if let line = hop.request { out += "    > \(line)\n" }
                for h in hop.requestHeaders { out += "    > \(h.name): \(h.value)\n" }
                if let line = hop.statusLine { out += "    < \(line)\n" }
                for h in hop.responseHeaders { out += "    < \(h.name): \(h.value)\n" }
                if i + 1 < a.hops.count, let location = hop.location { out += "    → redirected to \(location)\n" }
            }
            if let t = a.tls {
                out += "  TLS: server name \(t.serverName), CA \(t.caFile)"
                if let cert = t.clientCertificate { out += ", client certificate \(cert)" }
                if t.insecureSkipVerify { out += ", verification off (insecure_skip_verify)" }
                out += "\n"
                let facts = [t.version, t.cipher, t.alpn.map { "ALPN \($0)" }].compactMap { $0 }
                out += "    handshake \(t.handshakeCompleted ? "completed" : "not completed")"
                out += (facts.isEmpty ? "" : ": " + facts.joined(separator: ", ")) + "; verify: \(t.verify)\n"
                if let subject = t.subject {
                    var line = "    certificate \(subject)"
                    if let issuer = t.issuer { line += ", issued by \(issuer)" }
                    if !t.sans.isEmpty { line += ", names \(t.sans.joined(separator: " "))" }
                    if let from = t.certNotBefore, let to = t.certNotAfter { line += ", valid \(Timestamp.day(from)) to \(Timestamp.day(to))" }
                    if let chain = t.chainExpiry { line += ", chain expires \(Timestamp.day(chain))" }
                    out += line + "\n"
                }
            }
            if let skipped = a.expectationsSkipped {
                out += "  Expectations not checked: \(skipped)\n"
            } else {
                out += "  Expectations:\n"
                for v in a.expectations {
                    out += "    \(v.pass ? "✓" : "✗") \(pad(v.check, 16)) \(v.actual) (expected \(v.expected))"
                    out += v.failure.map { " — \($0.reason.rawValue): \($0.message)" } ?? ""
                    out += "\n"
                }
            }
        }
        out += "(Hop phases are timed by phasewatch at curl's callbacks; the waterfall above is curl's own.)\n"
        return out
    }

    private static func millis(_ seconds: Double) -> String {
        String(format: "%.1f ms", seconds * 1000)
    }

    private static func pad(_ text: String, _ width: Int, left: Bool = false) -> String {
        let fill = String(repeating: " ", count: max(0, width - text.count))
        return left ? fill + text : text + fill
    }
}
