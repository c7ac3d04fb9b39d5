/// Prometheus text format 0.0.4, written directly: for series made afresh from every SLO
/// snapshot. swift-prometheus's registry fits long-lived series; building a registry per
/// snapshot copies its label dictionary on every insert (quadratic: 15 s for the ~100 000
/// series of 1 000 targets, measured with perf in bench/slo), where this takes milliseconds.
struct ExpositionWriter {
    private struct Family {
        var type: String
        var help: String
        var lines: [String]
    }

    private var order: [String] = []
    private var families: [String: Family] = [:]

    /// One sample. Families are written in the order they first appear, each with its HELP and
    /// TYPE once and all of its samples together, as the format requires.
    mutating func add(_ name: String, type: String = "gauge", help: String, labels: [(String, String)], value: Double) {
        var line = name
        if !labels.isEmpty {
            line += "{" + labels.map { "\($0.0)=\"\(Self.escape($0.1))\"" }.joined(separator: ",") + "}"
        }
        line += " " + Self.format(value)
        if families[name] == nil {
            order.append(name)
            families[name] = Family(type: type, help: help, lines: [])
        }
        families[name]!.lines.append(line)
    }

    var text: String {
        var out = ""
        for name in order {
            let family = families[name]!
            out += "# HELP \(name) \(family.help)\n# TYPE \(name) \(family.type)\n"
            for line in family.lines { out += line + "\n" }
        }
        return out
    }

    /// Label values: backslash, double quote and line feed escaped, as the format requires.
    static func escape(_ value: String) -> String {
        guard value.contains(where: { $0 == "\\" || $0 == "\"" || $0 == "\n" }) else { return value }
        var out = ""
        for c in value {
            switch c {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(c)
            }
        }
        return out
    }

    /// Sample values as Swift prints a Double (as swift-prometheus does), with the format's own
    /// spellings of the non-finite ones.
    static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        return "\(value)"
    }
}
