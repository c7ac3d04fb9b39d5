@testable import PhaseWatchCore
import Testing

struct PromDurationTests {
    @Test(arguments: [
        ("500ms", Duration.milliseconds(500)), ("15s", .seconds(15)), ("5m", .seconds(300)),
        ("1h30m", .seconds(5400)), ("30d", .seconds(30 * 86_400)), ("1w", .seconds(7 * 86_400)),
        ("1y", .seconds(365 * 86_400)), ("0", .zero), ("1m30s250ms", .milliseconds(90_250)),
    ])
    func parses(text: String, expected: Duration) throws {
        #expect(try PromDuration.parse(text) == expected)
    }

    @Test(arguments: ["", "10", "s", "1.5s", "5sec", "1s1m", "1s1s", "-1s", "1h 30m", "99999999999999999y", "292000000y292000000w", "9223372036854775s808ms"])
    func rejects(text: String) {
        #expect(throws: PromDuration.ParseError(text: text)) { try PromDuration.parse(text) }
    }

    @Test func formatsCanonically() {
        #expect(PromDuration.format(.seconds(5400)) == "1h30m")
        #expect(PromDuration.format(.milliseconds(250)) == "250ms")
        #expect(PromDuration.format(.zero) == "0s")
        #expect(PromDuration.format(.seconds(30 * 86_400)) == "30d")
    }

    @Test func errorSaysWhatIsWrong() {
        #expect(PromDuration.ParseError(text: "5sec").description.contains("\"5sec\""))
    }
}
