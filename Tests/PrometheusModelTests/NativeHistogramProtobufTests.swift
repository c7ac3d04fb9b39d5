import Foundation
import PhaseWatchCore
import PrometheusModel
import SwiftProtobuf
import Testing
import TestSupport

/// The generated data model carries a native histogram in the fields Prometheus reads: checked on
/// the wire bytes themselves, so a .proto with other field numbers (the early `sb_*` draft, whose
/// schema was field 4) fails here even though it would round-trip through its own code.
struct NativeHistogramProtobufTests {
    /// TLS handshake times of one target: a few milliseconds, one skipped phase (0).
    static func sampleHistogram() -> NativeHistogram {
        var h = NativeHistogram()
        for v in [0.0, 0.0021, 0.0021, 0.0022, 0.0025, 0.0031, 0.0032, 0.012] { h.record(v) }
        return h
    }

    static func family(_ h: NativeHistogram) -> Io_Prometheus_Client_MetricFamily {
        var histogram = Io_Prometheus_Client_Histogram()
        histogram.sampleCount = h.count
        histogram.sampleSum = h.sum
        histogram.schema = h.schema
        histogram.zeroThreshold = h.zeroThreshold
        histogram.zeroCount = h.zeroCount
        histogram.positiveSpan = h.positiveSpans.map {
            var span = Io_Prometheus_Client_BucketSpan()
            span.offset = $0.offset
            span.length = $0.length
            return span
        }
        histogram.positiveDelta = h.positiveDeltas
        var exemplar = Io_Prometheus_Client_Exemplar()
        exemplar.label = [label("trace_id", "4bf92f3577b34da6a3ce929d0e0e4736")]
        exemplar.value = 0.012
        exemplar.timestamp = Google_Protobuf_Timestamp(seconds: 1_764_936_000, nanos: 500_000_000)
        histogram.exemplars = [exemplar]

        var metric = Io_Prometheus_Client_Metric()
        metric.label = [label("phase", "tls"), label("target", "api")]
        metric.histogram = histogram
        var family = Io_Prometheus_Client_MetricFamily()
        family.name = "phasewatch_phase_duration_seconds"
        family.help = "Probe phase durations."
        family.type = .histogram
        family.metric = [metric]
        return family
    }

    static func label(_ name: String, _ value: String) -> Io_Prometheus_Client_LabelPair {
        var pair = Io_Prometheus_Client_LabelPair()
        pair.name = name
        pair.value = value
        return pair
    }

    @Test func histogramFieldsCarryPrometheusNumbers() throws {
        let h = Self.sampleHistogram()
        let bytes: [UInt8] = try Self.family(h).serializedBytes()

        let family = try Wire.fields(bytes)
        #expect(family.map(\.number) == [1, 2, 3, 4])
        #expect(family[2].value == .varint(4))  // type: HISTOGRAM
        let metric = try Wire.fields(try #require(family[3].value.bytes))
        #expect(metric.map(\.number) == [1, 1, 7])
        let histogram = try Wire.fields(try #require(metric[2].value.bytes))
        // 1 sample_count, 2 sample_sum, 5 schema, 6 zero_threshold, 7 zero_count,
        // 12 positive_span (one per span), 13 positive_delta (packed), 16 exemplars.
        let spans = h.positiveSpans
        #expect(histogram.map(\.number) == [1, 2, 5, 6, 7] + Array(repeating: 12, count: spans.count) + [13, 16])
        let field = Dictionary(histogram.map { ($0.number, $0.value) }, uniquingKeysWith: { first, _ in first })
        #expect(field[1] == .varint(8))
        #expect(field[2] == .fixed64(h.sum.bitPattern))
        #expect(field[5] == .varint(10))  // sint32 5, zigzag-encoded
        #expect(field[6] == .fixed64(0x1p-30.bitPattern))
        #expect(field[7] == .varint(1))
        let firstSpan = try Wire.fields(try #require(field[12]?.bytes))
        #expect(firstSpan.map(\.number) == [1, 2])
        #expect(firstSpan[0].value == .varint(Wire.zigzag(Int64(spans[0].offset))))
        #expect(firstSpan[1].value == .varint(UInt64(spans[0].length)))
        var deltas = try #require(field[13]?.bytes)[...]
        var decoded: [Int64] = []
        while !deltas.isEmpty { decoded.append(Wire.unzigzag(try Wire.varint(&deltas))) }
        #expect(decoded == h.positiveDeltas)
    }

    @Test func roundTrip() throws {
        let original = Self.family(Self.sampleHistogram())
        let bytes: [UInt8] = try original.serializedBytes()
        let decoded = try Io_Prometheus_Client_MetricFamily(serializedBytes: bytes)
        #expect(decoded == original)
        let histogram = decoded.metric[0].histogram
        #expect(histogram.schema == 5)
        #expect(histogram.zeroThreshold == NativeHistogram.defaultZeroThreshold)
        #expect(histogram.positiveSpan.map { [$0.offset, Int32($0.length)] } == Self.sampleHistogram().positiveSpans.map { [$0.offset, Int32($0.length)] })
        #expect(histogram.exemplars.first?.timestamp.seconds == 1_764_936_000)
    }

    /// The reference compiler reads our bytes with the committed .proto as the native histogram
    /// Prometheus expects (`protoc --decode` prints field names from the .proto).
    @Test(.requires(.protoc)) func protocDecodesTheNativeHistogram() throws {
        let bytes: [UInt8] = try Self.family(Self.sampleHistogram()).serializedBytes()
        let input = Scratch.dir.appendingPathComponent("family-\(UUID().uuidString).bin")
        try Data(bytes).write(to: input)
        defer { try? FileManager.default.removeItem(at: input) }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: try requireTool(.protoc))
        process.arguments = [
            "--decode=io.prometheus.client.MetricFamily",
            "-I", Repo.root.appendingPathComponent("Sources/PrometheusModel/proto").path,
            "io/prometheus/client/metrics.proto",
        ]
        process.standardInput = try FileHandle(forReadingFrom: input)
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(text)")

        let h = Self.sampleHistogram()
        for line in [
            "name: \"phasewatch_phase_duration_seconds\"", "type: HISTOGRAM", "sample_count: 8", "schema: 5",
            "zero_threshold: 9.313225746154785", "zero_count: 1", "positive_span {",
            "offset: \(h.positiveSpans[0].offset)", "positive_delta: \(h.positiveDeltas[0])", "exemplars {",
            "value: \"4bf92f3577b34da6a3ce929d0e0e4736\"", "seconds: 1764936000",
        ] {
            #expect(text.contains(line), "protoc output lacks \(line):\n\(text)")
        }
        // protoc prints a field missing from the .proto by its number ("4: 10").
        let unknown = text.split(separator: "\n").filter { $0.drop { $0 == " " }.first?.isNumber == true }
        #expect(unknown.isEmpty, "fields protoc does not know:\n\(text)")
    }
}

/// Just enough of the protobuf wire format to read fields back by number, independently of
/// SwiftProtobuf.
enum Wire {
    enum Value: Equatable {
        case varint(UInt64)
        case fixed64(UInt64)
        case fixed32(UInt32)
        case bytes([UInt8])

        var bytes: [UInt8]? {
            if case .bytes(let b) = self { return b }
            return nil
        }
    }

    struct Malformed: Error {}

    /// The top-level fields of one message, in wire order.
    static func fields(_ message: [UInt8]) throws -> [(number: Int, value: Value)] {
        var rest = message[...]
        var out: [(number: Int, value: Value)] = []
        while !rest.isEmpty {
            let tag = try varint(&rest)
            let number = Int(tag >> 3)
            switch tag & 7 {
            case 0: out.append((number, .varint(try varint(&rest))))
            case 1: out.append((number, .fixed64(try fixed(&rest, 8))))
            case 5: out.append((number, .fixed32(UInt32(try fixed(&rest, 4)))))
            case 2:
                let length = Int(try varint(&rest))
                guard rest.count >= length else { throw Malformed() }
                out.append((number, .bytes(Array(rest.prefix(length)))))
                rest = rest.dropFirst(length)
            default: throw Malformed()
            }
        }
        return out
    }

    static func varint(_ bytes: inout ArraySlice<UInt8>) throws -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while let byte = bytes.popFirst() {
            value |= UInt64(byte & 0x7f) << shift
            if byte < 0x80 { return value }
            shift += 7
            guard shift < 64 else { throw Malformed() }
        }
        throw Malformed()
    }

    static func fixed(_ bytes: inout ArraySlice<UInt8>, _ width: Int) throws -> UInt64 {
        guard bytes.count >= width else { throw Malformed() }
        let value = bytes.prefix(width).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        bytes = bytes.dropFirst(width)
        return value
    }

    static func zigzag(_ n: Int64) -> UInt64 { UInt64(bitPattern: (n << 1) ^ (n >> 63)) }
    static func unzigzag(_ n: UInt64) -> Int64 { Int64(bitPattern: n >> 1) ^ -Int64(bitPattern: n & 1) }
}
