@testable import PhaseWatchCore
import Testing

struct TraceIDTests {
    /// Every word round-trips through expand → compactForm, and its id is a valid W3C trace id
    /// whose right half is the word.
    @Test func wordsRoundTrip() {
        var rng = SystemRandomNumberGenerator()
        let edges: [Int64] = [1, -1, .min, .max, 0x0123_4567_89AB_CDEF, 0]
        for word in edges + (0..<10_000).map({ _ in Int64(bitPattern: rng.next()) }) {
            let id = TraceID.expand(word)
            #expect(id.utf8.count == 32 && id.allSatisfy { "0123456789abcdef".contains($0) }, "\(id)")
            #expect(id != String(repeating: "0", count: 32))
            #expect(id.hasSuffix(String(UInt64(bitPattern: word), radix: 16).leftPadded(to: 16)))
            #expect(TraceID.compactForm(id) == word, "\(id)")
        }
    }

    @Test func makeUsesTheWordAsTheRightHalf() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<1_000 {
            let word = rng.next() | 1
            let id = TraceID.make(random: word)
            #expect(id == TraceID.expand(Int64(bitPattern: word)))
            #expect(TraceID.compactForm(id).map { UInt64(bitPattern: $0) } == word)
        }
    }

    /// The mix is part of the database format (and of probe_view's SQL): these must never change.
    @Test func knownIDs() {
        #expect(TraceID.expand(1) == "492b8d6066c092270000000000000001")
        #expect(TraceID.expand(.min) == "a76c539a9a3f06128000000000000000")
        #expect(TraceID.expand(-1) == "fe766ab13afab784ffffffffffffffff")
        #expect(TraceID.expand(0) == "3564b439cd1e1f160000000000000000")
    }

    /// Ids from elsewhere (128 random bits) are not taken for compact ones, nor are near misses.
    @Test func otherIDsAreNotCompact() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<10_000 {
            let id = String(rng.next() as UInt64, radix: 16).leftPadded(to: 16) + String(rng.next() as UInt64, radix: 16).leftPadded(to: 16)
            #expect(TraceID.compactForm(id) == nil, "\(id)")
        }
        let id = TraceID.expand(0x0123_4567_89AB_CDEF)
        var flipped = Array(id)
        flipped[3] = flipped[3] == "0" ? "1" : "0"
        #expect(TraceID.compactForm(String(flipped)) == nil)
        for other in [id.uppercased(), String(id.dropLast()), id + "0", "", "4bf92f3577b34da6a3ce929d0e0e4736",
                      String(repeating: "0", count: 32), "not-a-hex-trace-id", String(id.dropLast()) + "g"] {
            #expect(TraceID.compactForm(other) == nil, "\(other)")
        }
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        String(repeating: "0", count: max(0, width - count)) + self
    }
}
