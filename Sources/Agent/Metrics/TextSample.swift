/// One sample line of the text exposition format as `ExpositionWriter` writes it:
/// `name{a="b",…} value`, label values escaped (`\\`, `\"`, `\n`), no timestamp. Read back by
/// the protobuf format (the agent-wide series come as text from swift-prometheus) and by
/// remote write, byte by byte: remote write reads every line of every collection.
struct TextSample {
    let name: String
    let labels: [(name: String, value: String)]
    let value: Double

    /// `line`: the line's bytes without its line break (an array's slice, or a slice of the
    /// buffer a chunk of /metrics arrived in: no copy per line).
    init?<Bytes: RandomAccessCollection<UInt8>>(_ line: Bytes) where Bytes.Index == Int {
        guard let space = line.lastIndex(of: UInt8(ascii: " ")), let value = Self.number(line[(space + 1)...]) else { return nil }
        self.value = value
        let series = line[..<space]
        guard let open = series.firstIndex(of: UInt8(ascii: "{")) else {
            name = String(decoding: series, as: UTF8.self)
            labels = []
            return
        }
        name = String(decoding: series[..<open], as: UTF8.self)
        var labels: [(name: String, value: String)] = []
        var i = open + 1
        let end = series.endIndex
        while i < end, series[i] != UInt8(ascii: "}") {
            if series[i] == UInt8(ascii: ",") || series[i] == UInt8(ascii: " ") {
                i += 1
                continue
            }
            guard let eq = series[i...].firstIndex(of: UInt8(ascii: "=")), eq + 1 < end, series[eq + 1] == UInt8(ascii: "\"") else { return nil }
            let key = String(decoding: series[i..<eq], as: UTF8.self)
            var j = eq + 2
            var escaped = false
            while j < end, series[j] != UInt8(ascii: "\"") {
                if series[j] == UInt8(ascii: "\\") {
                    escaped = true
                    j += 1
                }
                j += 1
            }
            guard j < end else { return nil }
            let raw = series[(eq + 2)..<j]
            labels.append((key, escaped ? Self.unescape(raw) : String(decoding: raw, as: UTF8.self)))
            i = j + 1
        }
        self.labels = labels
    }

    private static func unescape<Bytes: RandomAccessCollection<UInt8>>(_ raw: Bytes) -> String where Bytes.Index == Int {
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var i = raw.startIndex
        while i < raw.endIndex {
            if raw[i] == UInt8(ascii: "\\"), i + 1 < raw.endIndex {
                i += 1
                out.append(raw[i] == UInt8(ascii: "n") ? UInt8(ascii: "\n") : raw[i])
            } else {
                out.append(raw[i])
            }
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func number<Bytes: Collection<UInt8>>(_ text: Bytes) -> Double? {
        switch String(decoding: text, as: UTF8.self) {
        case "+Inf": .infinity
        case "-Inf": -.infinity
        case "NaN": .nan
        case let other: Double(other)
        }
    }
}
