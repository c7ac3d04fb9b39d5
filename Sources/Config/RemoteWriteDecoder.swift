import Foundation
import PhaseWatchCore

/// `remote_write`: the receivers the agent pushes its series to (docs/config.md#remote_write).
enum RemoteWriteKeys {
    static let entry = [
        "url", "headers", "basic_auth", "bearer_token_file", "tls", "send_interval", "timeout", "external_labels",
        "max_pending", "send_native_histograms",
    ]
    static let basicAuth = ["username", "password_file"]
    /// Headers the sender sets itself (the remote-write protocol's, and the credentials').
    static let reservedHeaders = [
        "content-type", "content-encoding", "content-length", "host", "user-agent", "x-prometheus-remote-write-version",
    ]
    /// Fewer could not hold one collection of a handful of targets.
    static let minPending = 1000
}

extension YAMLReader {
    mutating func remoteWrites(_ value: Located?, baseDirectory: String) -> [RemoteWriteConfig] {
        var entries: [RemoteWriteConfig] = []
        var seen: [String: Int] = [:]  // shown URL → line of its first entry
        for item in list(value) ?? [] {
            guard let fields = fields(item, known: RemoteWriteKeys.entry) else { continue }
            guard let entry = remoteWrite(fields, baseDirectory: baseDirectory) else { continue }
            // The url label tells the queues apart in the metrics, so it must be unique.
            if let first = seen[entry.shownURL] {
                fail(fields["url"] ?? item, "\"\(entry.shownURL)\" is already the url of the remote_write entry at line \(first)")
                continue
            }
            seen[entry.shownURL] = item.line
            entries.append(entry)
        }
        return entries
    }

    private mutating func remoteWrite(_ fields: Fields, baseDirectory: String) -> RemoteWriteConfig? {
        guard let urlValue = require(fields, "url"), let url = nonEmptyText(urlValue) else { return nil }
        if let problem = URLCheck.problem(url, shownAs: "\"\(URLRedaction.redacted(url))\"") {
            fail(urlValue, problem)
            return nil
        }
        var entry = RemoteWriteConfig(url: url)
        entry.headers = requestHeaders(fields["headers"])
        if let headers = fields["headers"] {
            for header in entry.headers where RemoteWriteKeys.reservedHeaders.contains(header.name.lowercased()) {
                fail(headers, "header \"\(header.name)\" is set by the remote-write sender itself")
            }
        }
        if let auth = self.fields(fields["basic_auth"], known: RemoteWriteKeys.basicAuth) {
            let username = require(auth, "username").flatMap { nonEmptyText($0) }
            let password = require(auth, "password_file").flatMap { readableFile($0, baseDirectory: baseDirectory) }
            if let username, let password { entry.basicAuth = .init(username: username, passwordFile: password) }
        }
        if let value = fields["bearer_token_file"] {
            entry.bearerTokenFile = readableFile(value, baseDirectory: baseDirectory)
        }
        // One Authorization header: the credentials must not contradict each other.
        let credentials = [
            fields["basic_auth"].map { _ in "basic_auth" }, fields["bearer_token_file"].map { _ in "bearer_token_file" },
            entry.headers.contains { $0.name.lowercased() == "authorization" } ? "an Authorization header" : nil,
            url.contains("@") && URLRedaction.withoutUserInfo(url) != url ? "user info in the url" : nil,
        ].compactMap { $0 }
        if credentials.count > 1 {
            fail(fields, "give one of basic_auth, bearer_token_file, an Authorization header or user info in the url, not \(credentials.joined(separator: " and "))")
        }
        if let tls = self.fields(fields["tls"], known: TLSKeys.tls) {
            entry.tls = tlsOptions(tls, baseDirectory: baseDirectory)
            if Syntax.isPlainHTTP(url) { fail(tls, "url is http://, tls settings would never be used") }
        }
        if let value = fields["send_interval"], let interval = duration(value, atLeast: .seconds(1)) {
            entry.sendInterval = interval
        }
        if let value = fields["timeout"], let timeout = positiveDuration(value) {
            entry.timeout = timeout
        }
        entry.externalLabels = externalLabels(fields["external_labels"])
        if let value = fields["max_pending"], let pending = int(value) {
            if pending < RemoteWriteKeys.minPending {
                fail(value, "must be at least \(RemoteWriteKeys.minPending) samples, got \(pending)")
            } else {
                entry.maxPending = pending
            }
        }
        if let on = bool(fields["send_native_histograms"]) { entry.sendNativeHistograms = on }
        return entry
    }

    /// Label names as Prometheus allows them, without the reserved `__` prefix, and not
    /// `location`, which every series has already.
    private mutating func externalLabels(_ value: Located?) -> [RemoteWriteConfig.Label] {
        var labels: [RemoteWriteConfig.Label] = []
        for entry in entries(value) ?? [] {
            let name = entry.key
            guard PrometheusName.isLabel(name), !name.hasPrefix("__") else {
                fail(entry.keyAt, "invalid label name \"\(name)\": use letters, digits and _, not starting with a digit or __")
                continue
            }
            guard !["location", "target"].contains(name) else {
                fail(entry.keyAt, "\"\(name)\" is on the series already (\(name == "location" ? "global.location" : "the target's name"))")
                continue
            }
            guard let text = text(entry.value) else { continue }
            labels.append(.init(name: name, value: text))
        }
        return labels.sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
    }
}

/// Prometheus's names (its data model): labels `[a-zA-Z_][a-zA-Z0-9_]*`.
enum PrometheusName {
    static func isLabel(_ name: String) -> Bool {
        guard let first = name.utf8.first, !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else { return false }
        return name.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F }
    }
}
