import Config
import Crypto
import Foundation
import Hummingbird
import HTTPTypes
import Synchronization

/// Checks the `Authorization` header of every request against `basic_auth_users` (bcrypt) and
/// `bearer_auth_tokens` (SHA-256), as exporter-toolkit does for basic auth.
///
/// bcrypt is slow on purpose (docs/web-config.md gives its cost), so:
/// - a successful check is remembered (`VerifiedCache`), and a Prometheus scraping every few
///   seconds pays for bcrypt once, not on every scrape;
/// - a failed check is never remembered: every wrong password costs a full bcrypt, so a
///   rejection takes as long the hundredth time as the first and says nothing about which
///   guesses were tried before. An unknown user is checked against a real user's hash so it
///   costs the same as a wrong password (no finding user names by timing);
/// - bcrypt runs in a `BcryptQueue`, one check at a time and never on Swift's cooperative pool
///   (2 threads here), bounded per client and in all: a flood of wrong passwords keeps one core
///   busy and gets 429s beyond the bounds, while other clients' first logins take their turn.
final class Authenticator: Sendable {
    enum Verdict: Equatable {
        case allowed
        /// No credentials of a kind that is configured.
        case missing
        /// Credentials that did not match. Which part was wrong is not told.
        case rejected
        /// A password that would need a bcrypt check while the client, or the queue, is at its
        /// bound: not checked, so nothing is told about it (429).
        case throttled
    }

    /// user → bcrypt hash as the C library reads it (see `normalised`).
    private let users: [String: String]
    /// The hash an unknown user's password is checked against, so it costs what a known one does.
    private let decoyHash: String?
    private let tokenDigests: [[UInt8]]
    private let cache = VerifiedCache(capacity: 1024)
    private let bcryptQueue: BcryptQueue
    /// `WWW-Authenticate` values of a 401, one per configured scheme.
    let challenges: [String]
    /// The schemes in words, for the 401's message.
    let accepted: String

    init(users: [BasicAuthUser], tokens: [BearerToken]) {
        bcryptQueue = BcryptQueue()
        var byName: [String: String] = [:]
        for user in users { byName[user.name] = Self.normalised(user.hash) }
        self.users = byName
        decoyHash = users.first.map { Self.normalised($0.hash) }
        tokenDigests = tokens.map(\.sha256)
        var challenges: [String] = []
        if !users.isEmpty { challenges.append(#"Basic realm="phasewatch""#) }
        if !tokens.isEmpty { challenges.append(#"Bearer realm="phasewatch""#) }
        self.challenges = challenges
        accepted = [users.isEmpty ? nil : "HTTP basic authentication", tokens.isEmpty ? nil : "a bearer token"]
            .compactMap { $0 }.joined(separator: " or ")
    }

    /// The bundled bcrypt (OpenBSD's) reads `$2a$` and `$2b$` only. htpasswd and PHP write
    /// `$2y$`, which is the same algorithm as `$2b$` (both fixed the old bugs the same way; Go's
    /// bcrypt treats them alike), so the prefix is rewritten for the C code only.
    private static func normalised(_ hash: String) -> String {
        hash.hasPrefix("$2y$") ? "$2b$" + hash.dropFirst(4) : hash
    }

    /// `client` is who sent the request, for the bounds of the bcrypt queue.
    func check(_ headers: HTTPFields, client: ClientID = .unknown) async -> Verdict {
        guard let authorization = headers[.authorization] else { return .missing }
        // RFC 9110: the scheme is case-insensitive, one or more spaces before the credentials.
        let parts = authorization.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2 else { return .missing }
        let credentials = parts[1].trimmingCharacters(in: .whitespaces)
        switch parts[0].lowercased() {
        case "basic" where decoyHash != nil:
            return await checkBasic(credentials, client: client)
        case "bearer" where !tokenDigests.isEmpty:
            return checkBearer(credentials) ? .allowed : .rejected
        default:
            return .missing
        }
    }

    private func checkBasic(_ credentials: String, client: ClientID) async -> Verdict {
        guard let decoded = Data(base64Encoded: credentials), let text = String(validating: decoded, as: UTF8.self),
            let colon = text.firstIndex(of: ":")
        else { return .rejected }
        let user = String(text[..<colon])
        let password = String(text[text.index(after: colon)...])
        // The C bcrypt reads a C string: "secret\0anything" would pass as "secret".
        guard !password.utf8.contains(0), let decoyHash else { return .rejected }
        let key = cache.key(user: user, password: password)
        // A password verified before never waits in the queue, whatever floods it.
        if users[user] != nil, cache.contains(key) { return .allowed }
        // Known or not, the user goes through the same queue and bounds: a 429 says nothing
        // about whether the user exists.
        let known = users[user]
        switch await bcryptQueue.verify(password, hash: known ?? decoyHash, key: key, client: client) {
        case .busy:
            return .throttled
        case .mismatched:
            return .rejected
        case .matched:
            guard known != nil else { return .rejected }
            cache.insert(key)
            return .allowed
        }
    }

    /// Tokens are long and random (docs/web-config.md), so one SHA-256 is as safe as bcrypt and
    /// needs no cache. Every configured digest is compared in full, matched or not.
    private func checkBearer(_ token: String) -> Bool {
        guard !token.isEmpty else { return false }
        let digest = Array(SHA256.hash(data: Data(token.utf8)))
        var matched = false
        for expected in tokenDigests where Self.constantTimeEqual(digest, expected) {
            matched = true
        }
        return matched
    }

    private static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for (x, y) in zip(a, b) { difference |= x ^ y }
        return difference == 0
    }
}

/// The user/password pairs bcrypt accepted, as salted SHA-256 digests: the cache never holds a
/// password, and its keys cannot be checked against a guess without the per-process salt.
/// Bounded: past `capacity`, the oldest entry goes (a client whose entry went pays one bcrypt).
final class VerifiedCache: Sendable {
    private struct State {
        var keys: Set<[UInt8]> = []
        var order: [[UInt8]] = []
        var next = 0
    }

    private let capacity: Int
    private let salt: [UInt8]
    private let state = Mutex(State())

    init(capacity: Int) {
        self.capacity = capacity
        var generator = SystemRandomNumberGenerator()
        salt = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }

    func key(user: String, password: String) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: salt)
        // Lengths first, so ("ab", "c") and ("a", "bc") never share a key.
        for part in [user, password] {
            let bytes = Array(part.utf8)
            withUnsafeBytes(of: UInt64(bytes.count).bigEndian) { hasher.update(bufferPointer: $0) }
            hasher.update(data: bytes)
        }
        return Array(hasher.finalize())
    }

    func contains(_ key: [UInt8]) -> Bool {
        state.withLock { $0.keys.contains(key) }
    }

    func insert(_ key: [UInt8]) {
        state.withLock { state in
            guard state.keys.insert(key).inserted else { return }
            if state.order.count < capacity {
                state.order.append(key)
            } else {
                state.keys.remove(state.order[state.next])
                state.order[state.next] = key
                state.next = (state.next + 1) % capacity
            }
        }
    }

    var count: Int { state.withLock { $0.keys.count } }
}

/// Every request passes here first (it is the router's first middleware, so it also guards
/// unknown paths): without accepted credentials the answer is 401 with the challenges and the
/// API's JSON error, and no handler runs.
struct AuthenticationMiddleware: RouterMiddleware {
    typealias Context = AgentRequestContext
    let authenticator: Authenticator

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let verdict = await authenticator.check(request.headers, client: context.client)
        switch verdict {
        case .allowed:
            return try await next(request, context)
        case .throttled:
            // Not a 401: the credentials were not checked. One second, the shortest delay
            // Retry-After can say: the few checks ahead of a retry take about that long.
            throw APIError(
                status: .tooManyRequests, code: "too_many_requests", message: "too many password checks waiting: retry later",
                headers: [.retryAfter: "1"])
        case .missing, .rejected:
            var challenges = HTTPFields()
            for challenge in authenticator.challenges {
                challenges.append(HTTPField(name: .wwwAuthenticate, value: challenge))
            }
            let message = verdict == .missing ? "authentication required: \(authenticator.accepted)" : "the credentials were not accepted"
            throw APIError(status: .unauthorized, code: "unauthorized", message: message, headers: challenges)
        }
    }
}
