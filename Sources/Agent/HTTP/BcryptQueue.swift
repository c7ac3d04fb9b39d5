import Dispatch
import Hummingbird
import HummingbirdCore
import HummingbirdBcrypt
import NIOCore
import Synchronization

/// The bcrypt checks of passwords not verified before, bounded so that wrong passwords cannot
/// delay the right ones (docs/web-config.md, "Authentication under attack"):
/// - one check runs at a time, on a thread of its own, never on Swift's cooperative pool;
/// - each client (`ClientID`) may have `Limits.perClient` checks queued or running, and all
///   clients together `Limits.total`; a check beyond either bound is refused at once (`.busy`,
///   a 429) instead of waiting behind the others;
/// - clients take turns: the next check is the oldest of the client whose turn it is, so a
///   flooding client gets one check in turn like everyone else, and a first login from another
///   client waits for at most the check running and one per other waiting client;
/// - a check of the same user and password as one already queued or running waits for that
///   one's answer instead of queueing a second (a browser or scraper opening several
///   connections at once with a new password must not be refused).
final class BcryptQueue: Sendable {
    struct Limits: Sendable {
        /// Checks one client may have queued or running.
        var perClient: Int
        /// Checks queued or running in all.
        var total: Int

        /// Two per client, not one: a Prometheus pair, or two people, behind one address are
        /// not an attack.
        static let standard = Limits(perClient: 2, total: 16)
    }

    enum Outcome: Equatable, Sendable {
        case matched
        case mismatched
        /// Refused without a check: the client or the queue is at its bound.
        case busy
    }

    private struct Job {
        let client: ClientID
        let password: String
        let hash: String
        var waiters: [CheckedContinuation<Outcome, Never>]
    }

    private struct State {
        /// Queued and running checks, by the `VerifiedCache` key of their user and password.
        var jobs: [[UInt8]: Job] = [:]
        /// Each client's queued checks (not the running one), oldest first.
        var queued: [ClientID: [[UInt8]]] = [:]
        /// Clients with queued checks, the one whose turn is next first.
        var turns: [ClientID] = []
        /// Checks queued or running per client.
        var pending: [ClientID: Int] = [:]
        var draining = false
    }

    let limits: Limits
    private let state = Mutex(State())
    private let worker = DispatchQueue(label: "phasewatch.bcrypt")

    init(limits: Limits = .standard) {
        self.limits = limits
    }

    /// Whether `password` matches `hash`, or `.busy` at once when `client` or the queue is at
    /// its bound. `key` names the user and password (two equal keys are the same question).
    func verify(_ password: String, hash: String, key: [UInt8], client: ClientID) async -> Outcome {
        await withCheckedContinuation { continuation in
            enum Admission { case joined, queued, queuedAndStart, refused }
            let admission = state.withLock { state -> Admission in
                if state.jobs[key] != nil {
                    state.jobs[key]!.waiters.append(continuation)
                    return .joined
                }
                guard state.jobs.count < limits.total, state.pending[client, default: 0] < limits.perClient else {
                    return .refused
                }
                state.jobs[key] = Job(client: client, password: password, hash: hash, waiters: [continuation])
                state.pending[client, default: 0] += 1
                if state.queued[client] == nil { state.turns.append(client) }
                state.queued[client, default: []].append(key)
                guard !state.draining else { return .queued }
                state.draining = true
                return .queuedAndStart
            }
            switch admission {
            case .refused: continuation.resume(returning: .busy)
            case .queuedAndStart: worker.async { self.drain() }
            case .joined, .queued: break
            }
        }
    }

    /// Checks queued or running now, for tests.
    var pendingCount: Int { state.withLock { $0.jobs.count } }

    /// Runs checks until none is queued. Only one drain runs at a time (`draining`).
    private func drain() {
        while let (key, job) = next() {
            let outcome: Outcome = Bcrypt.verify(job.password, hash: job.hash) ? .matched : .mismatched
            let waiters = state.withLock { state -> [CheckedContinuation<Outcome, Never>] in
                let done = state.jobs.removeValue(forKey: key)
                let left = state.pending[job.client, default: 1] - 1
                state.pending[job.client] = left > 0 ? left : nil
                return done?.waiters ?? []
            }
            for waiter in waiters { waiter.resume(returning: outcome) }
        }
    }

    /// The oldest queued check of the client whose turn it is; that client goes to the end of
    /// the turns if it has more. Nil, and the drain ends, when nothing is queued.
    private func next() -> ([UInt8], Job)? {
        state.withLock { state -> ([UInt8], Job)? in
            guard !state.turns.isEmpty else {
                state.draining = false
                return nil
            }
            let client = state.turns.removeFirst()
            var keys = state.queued[client] ?? []
            let key = keys.removeFirst()
            if keys.isEmpty {
                state.queued[client] = nil
            } else {
                state.queued[client] = keys
                state.turns.append(client)
            }
            // A key leaves `jobs` only once it has run, so a queued one is always there.
            return (key, state.jobs[key]!)
        }
    }
}

/// Who sent a request, as far as the queue's bounds go: the IPv4 address, or the /64 of an
/// IPv6 address (one host usually holds a whole /64, so it could otherwise take a new address
/// per request). Requests whose address is unknown share one bucket.
struct ClientID: Hashable, Sendable {
    let value: String

    static let unknown = ClientID(value: "unknown")

    init(value: String) {
        self.value = value
    }

    init(_ address: SocketAddress?) {
        switch address {
        case .v4:
            self.init(value: address?.ipAddress ?? "unknown")
        case .v6(let v6):
            let bytes = withUnsafeBytes(of: v6.address.sin6_addr) { Array($0) }
            if bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xff, bytes[11] == 0xff {
                // IPv4-mapped (::ffff:a.b.c.d, on a dual-stack listener): the IPv4 client's bucket.
                self.init(value: bytes[12...].map(String.init).joined(separator: "."))
            } else {
                let groups = stride(from: 0, to: 8, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }
                self.init(value: groups.joined(separator: ":") + "::/64")
            }
        default:
            self = .unknown
        }
    }
}
