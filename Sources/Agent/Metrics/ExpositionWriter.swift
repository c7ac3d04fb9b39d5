import Foundation

/// Prometheus text format 0.0.4 or OpenMetrics 1.0 (`format`), written straight into bytes,
/// for the per-target and SLO series. The two differ in the family headers and in exemplars;
/// sample lines are the same bytes in both.
///
/// Those are tens of thousands of series at 1 000 targets, so they are not kept as
/// swift-prometheus objects: its registry copies its label dictionary on every insert
/// (quadratic in the number of series, measured with perf in bench/slo), keeps one object per
/// series, and renders through string interpolation. The callers keep plain values and write
/// them into this buffer: a target's lines after each of its results (`TargetBlock`), the SLO
/// lines once per snapshot; a scrape then copies those bytes into its chunks.
struct ExpositionWriter {
    /// A byte array, not a ByteBuffer: appending a native string's UTF-8 to an array is one
    /// memcpy, where ByteBuffer checks uniqueness and capacity on every write (perf showed those checks at a sixth of a scrape's CPU).
    private var buffer: [UInt8] = []
    /// The header lines of the family begun last, written with its first sample: a family
    /// without samples leaves no lines.
    private var pendingHeader: [UInt8]?

    private(set) var format: ExpositionFormat

    /// Goes on in another format (a target's block ends with OpenMetrics' duration lines).
    mutating func switchFormat(to format: ExpositionFormat) {
        self.format = format
    }

    init(capacity: Int = 1 << 16, format: ExpositionFormat = .text) {
        self.format = format
        buffer.reserveCapacity(capacity)
    }

    /// Appends to `buffer` (pass it consumed, so that the writer holds the only reference and
    /// appends in place).
    init(buffer: consuming [UInt8], format: ExpositionFormat = .text) {
        self.format = format
        self.buffer = buffer
    }

    /// What was written, handed over (the writer is left empty).
    mutating func takeBuffer() -> [UInt8] {
        var taken: [UInt8] = []
        swap(&taken, &buffer)
        return taken
    }

    /// Begins a family: its header lines come before its first sample.
    mutating func family(_ name: String, type: String, help: String) {
        pendingHeader = Array(Self.header(name, type: type, help: help, format: format).utf8)
    }

    /// `# HELP` and `# TYPE`; in OpenMetrics a counter's family is named without `_total`, the
    /// help escapes double quotes too, and `# UNIT` names the unit the family's name ends with.
    static func header(_ name: String, type: String, help: String, format: ExpositionFormat) -> String {
        guard format == .openMetrics else { return "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n" }
        let family = type == "counter" && name.hasSuffix("_total") ? String(name.dropLast(6)) : name
        var text = "# HELP \(family) \(help.replacingOccurrences(of: "\"", with: "\\\""))\n# TYPE \(family) \(type)\n"
        if let unit = ["seconds", "bytes", "ratio"].first(where: { family.hasSuffix("_" + $0) }) {
            text += "# UNIT \(family) \(unit)\n"
        }
        return text
    }

    /// One sample: `open` (`name{`), the series' own labels, `close` (`,phase="tls"} ` or `} `),
    /// the value. All three are pre-encoded bytes, made once per target or once per process
    /// (`Self.open`, `Self.close`): a line costs three copies and the value, with no string
    /// built at the scrape (10 000 targets are 2.4 million lines).
    mutating func sample(_ open: [UInt8], _ labels: [UInt8], _ close: [UInt8], value: Double) {
        writeSeries(open, labels, close)
        writeValue(value)
        buffer.append(UInt8(ascii: "\n"))
    }

    /// A sample without labels: `name` is `Self.bare(name)`.
    mutating func sample(_ name: [UInt8], value: Double) {
        writeSeries(name, [], [])
        writeValue(value)
        buffer.append(UInt8(ascii: "\n"))
    }

    /// `name `, the start of a sample line without labels.
    static func bare(_ name: String) -> [UInt8] {
        Array((name + " ").utf8)
    }

    /// A sample whose value is a count.
    mutating func sample(_ open: [UInt8], _ labels: [UInt8], _ close: [UInt8], count: UInt64) {
        writeSeries(open, labels, close)
        writeDigits(count)
        buffer.append(UInt8(ascii: "\n"))
    }

    /// A count with an OpenMetrics exemplar after it: ` # {trace_id="…"} 0.084 1733400000.5`,
    /// the probe's trace id, its value and its time.
    mutating func sample(_ open: [UInt8], _ labels: [UInt8], _ close: [UInt8], count: UInt64,
                         exemplar traceId: String, value: Double, timestamp: Double) {
        writeSeries(open, labels, close)
        writeDigits(count)
        write(#" # {trace_id=""#)
        write(Self.escape(traceId))
        write(#""} "#)
        writeValue(value)
        buffer.append(UInt8(ascii: " "))
        write(timestamp.description)
        buffer.append(UInt8(ascii: "\n"))
    }

    /// What was written so far, kept (a block of lines to copy into later scrapes).
    var bytes: [UInt8] { buffer }

    private mutating func writeSeries(_ open: [UInt8], _ labels: [UInt8], _ close: [UInt8]) {
        if let header = pendingHeader {
            pendingHeader = nil
            buffer.append(contentsOf: header)
        }
        buffer.append(contentsOf: open)
        buffer.append(contentsOf: labels)
        buffer.append(contentsOf: close)
    }

    /// `name{`, the start of a sample line.
    static func open(_ name: String) -> [UInt8] {
        Array((name + "{").utf8)
    }

    /// Escaped label pairs (`,phase="tls"`, see `label`) and the `} ` that ends the series.
    static func close(_ pairs: String = "") -> [UInt8] {
        Array((pairs + "} ").utf8)
    }

    /// Text-format exposition made elsewhere (swift-prometheus's agent-wide series), with its
    /// headers rewritten for OpenMetrics when that is the format.
    mutating func writeRaw(_ bytes: [UInt8]) {
        guard format == .openMetrics else { return buffer.append(contentsOf: bytes) }
        var help: [Substring: Substring] = [:]
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            if line.hasPrefix("# HELP ") {
                let rest = line.dropFirst(7)
                let name = rest.prefix { $0 != " " }
                help[name] = rest.dropFirst(name.count + 1)
            } else if line.hasPrefix("# TYPE ") {
                let rest = line.dropFirst(7)
                let name = rest.prefix { $0 != " " }
                write(Self.header(String(name), type: String(rest.dropFirst(name.count + 1)), help: String(help[name] ?? ""), format: format))
            } else if !line.hasPrefix("#") {
                write(String(line))
                buffer.append(UInt8(ascii: "\n"))
            }
        }
    }

    var count: Int { buffer.count }

    private mutating func write(_ text: String) {
        buffer.append(contentsOf: text.utf8)
    }

    /// Whole numbers (counts, status codes, flags) without a fraction, others as Swift prints a
    /// Double (the shortest text that reads back to the same value), non-finite values in the
    /// format's own spelling.
    private mutating func writeValue(_ value: Double) {
        if value.isNaN { write("NaN"); return }
        if value.isInfinite { write(value > 0 ? "+Inf" : "-Inf"); return }
        if value == value.rounded(), abs(value) < 1e15 {
            if value < 0 { buffer.append(UInt8(ascii: "-")) }
            writeDigits(UInt64(abs(value)))
            return
        }
        write(value.description)
    }

    private mutating func writeDigits(_ value: UInt64) {
        if value < 10 { buffer.append(UInt8(ascii: "0") + UInt8(value)); return }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: enough for 20 digits
        var n = value
        var length = 0
        withUnsafeMutableBytes(of: &digits) { raw in
            while n > 0 {
                raw[23 - length] = UInt8(ascii: "0") + UInt8(n % 10)
                n /= 10
                length += 1
            }
            buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: raw[(24 - length)...]))
        }
    }

    /// A label pair, escaped: `,name="value"` (or without the comma), ready for `sample`.
    static func label(_ name: String, _ value: String, leadingComma: Bool = true) -> String {
        (leadingComma ? "," : "") + name + "=\"" + escape(value) + "\""
    }

    /// Label values: backslash, double quote and line feed escaped, as the format requires.
    static func escape(_ value: String) -> String {
        guard value.utf8.contains(where: { $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\n") })
        else { return value }
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
}
