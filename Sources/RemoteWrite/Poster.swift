import CCurl
import Foundation
import PhaseWatchCore

/// What became of one request (docs/remote-write.md#retries).
public enum PostOutcome: Sendable, Equatable {
    case sent
    /// 5xx, 429 or no answer: the batch is kept and sent again after a wait.
    case retry(String)
    /// Any other status: the receiver will never take this batch; it is dropped.
    case refused(String)
}

/// One receiver's HTTP client: a libcurl easy handle used by one thread at a time (the
/// sender's), kept between requests so the connection and TLS session are reused.
final class Poster {
    private let handle: UnsafeMutableRawPointer
    private var settings: RemoteWriteConfig
    private let userAgent: String
    private let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE))
    private var response = ResponseText()

    init(_ settings: RemoteWriteConfig, userAgent: String) {
        Self.initializeCurl
        guard let handle = curl_easy_init() else { fatalError("curl_easy_init failed: out of memory") }
        self.handle = handle
        self.settings = settings
        self.userAgent = userAgent
    }

    deinit {
        curl_easy_cleanup(handle)
        errorBuffer.deallocate()
    }

    /// libcurl's global setup, once per process (thread-safe in the libcurl Debian ships);
    /// the probes' loop makes the same call, and libcurl counts them.
    private static let initializeCurl: Void = { curl_global_init(Int(CURL_GLOBAL_ALL)) }()

    /// New settings (a reload): used from the next request on.
    func update(_ settings: RemoteWriteConfig) { self.settings = settings }

    func post(_ body: [UInt8]) -> PostOutcome {
        curl_easy_reset(handle)  // keeps the connection, TLS sessions and DNS cache
        var lists: [UnsafeMutablePointer<curl_slist>] = []
        defer { lists.forEach { curl_slist_free_all($0) } }
        func list(_ option: CURLoption, _ values: [String]) {
            guard !values.isEmpty else { return }
            var list: UnsafeMutablePointer<curl_slist>?
            for value in values { list = curl_slist_append(list, value) }
            if let list {
                lists.append(list)
                ccurl_setopt_slist(handle, option, list)
            }
        }
        var headers: [String]
        do {
            headers = try self.headers()
        } catch {
            return .retry(error.description)
        }
        var url = settings.url
        if let serverName = settings.tls.serverName, let override = ServerNameOverride(url: url, serverName: serverName) {
            url = override.url
            list(CURLOPT_CONNECT_TO, [override.connectTo])
            headers.append("Host: \(override.originalAuthority)")
        }
        list(CURLOPT_HTTPHEADER, headers)
        set(CURLOPT_URL, url)
        set(CURLOPT_NOSIGNAL, 1)
        set(CURLOPT_PROTOCOLS_STR, "http,https")
        // Where the config says, never through a proxy the environment names.
        set(CURLOPT_PROXY, "")
        set(CURLOPT_TIMEOUT_MS, Int(settings.timeout.milliseconds))
        set(CURLOPT_USERAGENT, userAgent)
        ccurl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errorBuffer)
        errorBuffer[0] = 0
        let tls = settings.tls
        if let ca = tls.caFile { set(CURLOPT_CAINFO, ca) }
        if let cert = tls.certFile { set(CURLOPT_SSLCERT, cert) }
        if let key = tls.keyFile { set(CURLOPT_SSLKEY, key) }
        if tls.insecureSkipVerify {
            set(CURLOPT_SSL_VERIFYPEER, 0)
            set(CURLOPT_SSL_VERIFYHOST, 0)
        }
        if let auth = settings.basicAuth {
            guard let password = try? Self.secret(auth.passwordFile) else {
                return .retry("cannot read basic_auth.password_file \(auth.passwordFile)")
            }
            // Basic is what curl sends by default for a user name and password.
            set(CURLOPT_USERNAME, auth.username)
            set(CURLOPT_PASSWORD, password)
        }
        response = ResponseText()
        let me = Unmanaged.passUnretained(self).toOpaque()
        ccurl_setopt_pointer(handle, CURLOPT_WRITEDATA, me)
        ccurl_setopt_write_callback(handle) { data, size, count, owner in
            let poster = Unmanaged<Poster>.fromOpaque(owner!).takeUnretainedValue()
            let bytes = size * count
            poster.response.append(UnsafeRawBufferPointer(start: data, count: bytes))
            return bytes
        }
        let code = body.withUnsafeBufferPointer { bytes -> CURLcode in
            set(CURLOPT_POST, 1)
            ccurl_setopt_pointer(handle, CURLOPT_POSTFIELDS, UnsafeMutableRawPointer(mutating: bytes.baseAddress))
            ccurl_setopt_off_t(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(bytes.count))
            return curl_easy_perform(handle)
        }
        guard code == CURLE_OK else {
            let detail = String(cString: errorBuffer)
            return .retry(detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail)
        }
        var status = 0
        ccurl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        let said = response.text.isEmpty ? "" : ": \(response.text)"
        switch status {
        case 200..<300: return .sent
        case 429, 500..<600: return .retry("HTTP \(status)\(said)")
        default: return .refused("HTTP \(status)\(said)")
        }
    }

    /// The protocol's headers, the file's, and the bearer token (read now: it may be rotated).
    private func headers() throws(SecretError) -> [String] {
        var lines = [
            "Content-Type: application/x-protobuf", "Content-Encoding: snappy", "X-Prometheus-Remote-Write-Version: 0.1.0",
            // Without it curl waits for "100 Continue" before sending a body over 1 KiB.
            "Expect:",
        ]
        lines += settings.headers.map { "\($0.name): \($0.value)" }
        if let file = settings.bearerTokenFile {
            lines.append("Authorization: Bearer \(try Self.secret(file))")
        }
        return lines
    }

    struct SecretError: Error, CustomStringConvertible {
        let path: String
        var description: String { "cannot read \(path)" }
    }

    /// A credential file's content without the line break editors leave at its end.
    private static func secret(_ path: String) throws(SecretError) -> String {
        guard let data = FileManager.default.contents(atPath: path) else { throw SecretError(path: path) }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private func set(_ option: CURLoption, _ value: Int) { ccurl_setopt_long(handle, option, value) }
    private func set(_ option: CURLoption, _ value: String) { ccurl_setopt_string(handle, option, value) }

    /// The start of a response body, for the log line of a refused or failed request.
    private struct ResponseText {
        static let limit = 512
        private var bytes: [UInt8] = []

        mutating func append(_ data: UnsafeRawBufferPointer) {
            let room = Self.limit - bytes.count
            if room > 0 { bytes += data.prefix(room) }
        }

        var text: String {
            String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                .replacingOccurrences(of: "\n", with: " ")
        }
    }
}
