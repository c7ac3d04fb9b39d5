import Foundation
import PhaseWatchCore

/// Text made safe for the status page, and the number and time formats it uses.
///
/// Numbers are formatted by hand, not with `String(format:)`: a page of 1,000 targets formats
/// about a hundred thousand numbers, and Foundation's formatter costs microseconds each on Linux.
enum HTML {
    /// `text` with the five characters that can end a text node or an attribute value escaped.
    /// Everything from config or probes goes through here (names, URLs, messages, certificate
    /// fields): it is text, never markup.
    static func escape(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 == 0x26 || $0 == 0x3C || $0 == 0x3E || $0 == 0x22 || $0 == 0x27 }) else {
            return text
        }
        var out = ""
        out.reserveCapacity(text.utf8.count + 16)
        for character in text.unicodeScalars {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(character)
            }
        }
        return out
    }

    /// `value` rounded to `decimals` places (0…6), e.g. `fixed(1.25, 1)` = "1.3"; "-" before
    /// negatives, never "-0".
    static func fixed(_ value: Double, _ decimals: Int) -> String {
        digits(value, decimals, trimZeros: false)
    }

    /// Like `fixed`, without trailing zeros after the point: SVG coordinates, axis labels.
    static func short(_ value: Double, _ decimals: Int) -> String {
        digits(value, decimals, trimZeros: true)
    }

    private static let pow10: [Int64] = [1, 10, 100, 1000, 10_000, 100_000, 1_000_000]

    private static func digits(_ value: Double, _ decimals: Int, trimZeros: Bool) -> String {
        guard value.isFinite else { return value.isNaN ? "–" : (value > 0 ? "∞" : "-∞") }
        var decimals = max(0, min(decimals, 6))
        let scaled = (abs(value) * Double(pow10[decimals])).rounded()
        guard scaled < 9e15 else { return String(Int64(value.rounded())) }
        var units = Int64(scaled)
        if trimZeros {
            while decimals > 0, units % 10 == 0 {
                units /= 10
                decimals -= 1
            }
        }
        let scale = pow10[decimals]
        var out = value < 0 && units != 0 ? "-" : ""
        out += String(units / scale)
        if decimals > 0 {
            let fraction = String(units % scale)
            out += "."
            if fraction.utf8.count < decimals { out += String(repeating: "0", count: decimals - fraction.utf8.count) }
            out += fraction
        }
        return out
    }

    /// Seconds as milliseconds with a precision that suits the size: "0.12 ms", "4.5 ms", "230 ms".
    static func ms(_ seconds: Double) -> String {
        let millis = seconds * 1000
        switch abs(millis) {
        case ..<1: return fixed(millis, 2) + " ms"
        case ..<100: return fixed(millis, 1) + " ms"
        default: return fixed(millis, 0) + " ms"
        }
    }

    /// A ratio as a percentage with up to `decimals` places: 0.999 → "99.9 %", 1 → "100 %".
    static func percent(_ ratio: Double, decimals: Int = 3) -> String {
        short(ratio * 100, decimals) + " %"
    }

    /// An integer with thousands separators: 12345 → "12,345".
    static func count(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var out = value < 0 ? "-" : ""
        for (i, digit) in digits.enumerated() {
            if i > 0, (digits.count - i) % 3 == 0 { out += "," }
            out.append(digit)
        }
        return out
    }

    /// `<time>` with the UTC instant to the second, and how long ago it was at `now`.
    static func time(_ date: Date, now: Date) -> String {
        let stamp = Timestamp.rfc3339(date)
        // 2026-11-22T10:00:00.123Z → 2026-11-22 10:00:00 UTC
        let readable = stamp.prefix(10) + " " + stamp.dropFirst(11).prefix(8) + " UTC"
        return "<time datetime=\"\(stamp)\">\(readable)</time> (\(age(now.timeIntervalSince(date))))"
    }

    /// "just now", "42 s ago", "5 min ago", "3 h ago", "2 d ago"; "in …" for the future.
    static func age(_ seconds: TimeInterval) -> String {
        let magnitude = abs(seconds)
        if magnitude < 1 { return "just now" }
        let amount: String
        switch magnitude {
        case ..<60: amount = "\(Int(magnitude)) s"
        case ..<3600: amount = "\(Int(magnitude / 60)) min"
        case ..<172_800: amount = "\(Int(magnitude / 3600)) h"
        default: amount = "\(Int(magnitude / 86_400)) d"
        }
        return seconds >= 0 ? amount + " ago" : "in " + amount
    }
}

/// How the page names and colours the network phases, the same in the waterfall, the chart
/// and its legend.
enum PhaseStyle {
    static let phases: [Phase] = Phase.network

    static func label(_ phase: Phase) -> String {
        switch phase {
        case .resolve: "DNS lookup"
        case .connect: "TCP connect"
        case .tls: "TLS handshake"
        case .processing: "Server processing"
        case .transfer: "Content transfer"
        case .assert: "Response checks"
        }
    }

    /// The CSS class that gives a bar (HTML background or SVG fill) the phase's colour.
    static func cssClass(_ phase: Phase) -> String { "p-\(phase.rawValue)" }
}

extension TargetState {
    /// Words and a symbol, so the state never rests on colour alone.
    var label: String {
        switch self {
        case .up: "✓ up"
        case .degraded: "! degraded"
        case .down: "✗ down"
        case .unknown: "? unknown"
        }
    }
}
