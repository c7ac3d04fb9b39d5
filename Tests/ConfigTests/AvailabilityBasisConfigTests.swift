import Config
import PhaseWatchCore
import Testing

/// `slo.availability_basis` (docs/config.md#slo, docs/slo.md#first-attempt-and-final): `final`
/// unless set, located errors with a suggestion.
struct AvailabilityBasisConfigTests {
    static let rows: [Broken] = [
        .target("unknown basis", "    slo: {availability: 99, availability_basis: first_attemp}\n",
                #"pw.yml:4:49: targets[0].slo.availability_basis: unsupported availability_basis "first_attemp": use final or first_attempt; did you mean "first_attempt"?"#),
        .target("typo in the key", "    slo: {availability: 99, availability_bases: final}\n",
                #"pw.yml:4:29: targets[0].slo.availability_bases: unknown key "availability_bases"; did you mean "availability_basis"?"#),
        .target("without an availability objective", "    slo: {latency: {threshold: 1s, objective: 99}, availability_basis: first_attempt}\n",
                "pw.yml:4:72: targets[0].slo.availability_basis: availability_basis picks the basis of the availability SLO, and this slo has no availability objective (docs/slo.md#first-attempt-and-final)"),
    ]

    @Test(arguments: rows)
    func reportsExactError(_ row: Broken) {
        #expect(Fixtures.check(row.yaml) == row.error)
    }

    @Test func defaultsToFinal() throws {
        let config = try Fixtures.parse("""
            targets:
              - {name: a, url: "http://a.example", slo: {availability: 99.9}}
              - {name: b, url: "http://b.example", slo: {availability: 99.9, availability_basis: first_attempt}}
              - {name: c, url: "http://c.example", slo: {availability: 99.9, availability_basis: final}}
            """)
        #expect(config.targets.map { $0.slo?.availabilityBasis } == [.final, .firstAttempt, .final])
    }
}
