import Foundation
import PhaseWatchCore
import Testing

struct ProbeResultJSONTests {
    let sample = ProbeResult(
        target: "api-health", url: "https://api.example.com/health",
        startedAt: Date(timeIntervalSince1970: 1_795_428_000.125), success: false,
        failure: Failure(phase: .tls, reason: .certExpired, message: "certificate expired 2026-11-01"),
        phases: Phases(resolve: 0.0012, connect: 0.0031, tls: 0.0412), duration: 0.0455,
        tls: TLSFacts(version: "TLS 1.3", subject: "CN=api.example.com", sans: ["api.example.com"]),
        ip: IPFacts(address: "203.0.113.7", family: 4), traceId: "4bf92f3577b34da6a3ce929d0e0e4736")

    @Test func usesContractFieldNames() throws {
        let json = String(decoding: try ProbeResult.makeEncoder().encode(sample), as: UTF8.self)
        for key in ["\"started_at\":\"2026-11-23T10:00:00.125Z\"", "\"trace_id\":", "\"connection_reused\":false",
                    "\"failure\":{\"message\":\"certificate expired 2026-11-01\",\"phase\":\"tls\",\"reason\":\"cert_expired\"}",
                    "\"ip\":{\"address\":\"203.0.113.7\",\"family\":4}", "\"sans\":[\"api.example.com\"]"] {
            #expect(json.contains(key), "\(key) missing in \(json)")
        }
        // Phases never reached are absent, not null or 0.
        #expect(!json.contains("processing"))
        #expect(!json.contains("null"))
    }

    @Test func timestampsRoundToTheMillisecond() {
        #expect(Timestamp.rfc3339(Date(timeIntervalSince1970: 1_795_428_000.123)) == "2026-11-23T10:00:00.123Z")
        #expect(Timestamp.parse("2026-11-23T10:00:00.123Z").map { abs($0.timeIntervalSince1970 - 1_795_428_000.123) < 1e-6 } == true)
        #expect(Timestamp.parse("2026-11-23T10:00:00Z") == Date(timeIntervalSince1970: 1_795_428_000))
        #expect(Timestamp.parse("yesterday") == nil)
    }

    @Test func roundTrips() throws {
        let data = try ProbeResult.makeEncoder().encode(sample)
        let back = try ProbeResult.makeDecoder().decode(ProbeResult.self, from: data)
        #expect(back == sample)
    }

    @Test func everyReasonHasItsContractSpelling() {
        let contract = """
            dns_nxdomain, dns_error, dns_timeout, connect_refused, connect_timeout, connect_error, tls_handshake_error, \
            tls_timeout, cert_expired, cert_not_yet_valid, cert_untrusted, cert_hostname_mismatch, first_byte_timeout, \
            transfer_timeout, total_timeout, connection_reset, empty_reply, http_protocol_error, too_many_redirects, \
            status, body_matches, body_not_matches, header, not_tls, cert_expiring, too_slow, body_too_large, \
            redirect_refused, response_headers_too_large, client_certificate_rejected, regex_timeout, agent_error
            """
        let names = contract.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(Set(FailureReason.allCases.map(\.rawValue)) == Set(names))
    }

    @Test func statusMatchers() {
        #expect(StatusMatcher("2xx") == .class(2))
        #expect(StatusMatcher("404") == .code(404))
        #expect(StatusMatcher("6xx") == nil)
        #expect(StatusMatcher("abc") == nil)
        #expect(StatusMatcher.class(2).matches(204))
        #expect(!StatusMatcher.code(200).matches(201))
    }
}
