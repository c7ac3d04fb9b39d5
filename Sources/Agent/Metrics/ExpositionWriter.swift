import NIOCore

/// Prometheus text format 0.0.4, written straight into bytes, for the per-target and SLO series.
///
/// Those are thousands of series per scrape at 1 000 targets (about 200 per target), so they
/// are not kept as swift-prometheus objects: its registry copies its label dictionary on every
/// insert (quadratic; 15 s for 100 000 series, measured with perf in bench/slo), keeps one
/// object per series, and renders through string interpolation. The callers keep plain values
/// and write them family by family (the format wants every sample of a family together) into
/// this buffer, which the `/metrics` route hands out in chunks.
struct ExpositionWriter {
    /// A byte array, not a ByteBuffer: appending a native string's UTF-8 to an array is one
    /// memcpy, where ByteBuffer checks uniqueness and capacity on every write (perf showed those checks at a sixth of a scrape's CPU).
    private var buffer: [UInt8] = []
    /// The header of the family begun last, written with its first sample: a family without
    /// samples leaves no lines.
    private var pendingHeader: (name: String, type: String, help: String)?

    init(capacity: Int = 1 << 16) {
        buffer.reserveCapacity(capacity)
    }

    /// Begins a family: its `# HELP` and `# TYPE` lines come before its first sample.
    mutating func family(_ name: String, type: String, help: String) {
        pendingHeader = (name, type, help)
    }

    private mutating func writeHeader(_ name: String, type: String, help: String) {
        write("# HELP ")
        write(name)
        buffer.append(UInt8(ascii: " "))
        write(help)
        write("\n# TYPE ")
        write(name)
        buffer.append(UInt8(ascii: " "))
        write(type)
        buffer.append(UInt8(ascii: "\n"))
    }

    /// One sample: `name{labels,extra} value`. `labels` and `extra` are already-escaped label
    /// pairs (`target="a",location="b"` and `,phase="tls"`), so a target's labels are escaped
    /// once, not at every scrape.
    mutating func sample(_ name: String, labels: String, extra: String = "", extra2: String = "", value: Double) {
        writeSeries(name, labels, extra, extra2)
        writeValue(value)
        buffer.append(UInt8(ascii: "\n"))
    }

    /// A sample whose value is a count.
    mutating func sample(_ name: String, labels: String, extra: String = "", extra2: String = "", count: UInt64) {
        writeSeries(name, labels, extra, extra2)
        writeDigits(count)
        buffer.append(UInt8(ascii: "\n"))
    }

    private mutating func writeSeries(_ name: String, _ labels: String, _ extra: String, _ extra2: String) {
        if let header = pendingHeader {
            pendingHeader = nil
            writeHeader(header.name, type: header.type, help: header.help)
        }
        write(name)
        buffer.append(UInt8(ascii: "{"))
        write(labels)
        if !extra.isEmpty { write(extra) }
        if !extra2.isEmpty { write(extra2) }
        write("} ")
    }


    /// Bytes that are already exposition text (swift-prometheus's agent-wide series).
    mutating func writeRaw(_ bytes: [UInt8]) {
        buffer.append(contentsOf: bytes)
    }

    /// Hands out what was written so far and starts over.
    mutating func take() -> ByteBuffer {
        let full = ByteBuffer(bytes: buffer)
        buffer.removeAll(keepingCapacity: true)
        return full
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
