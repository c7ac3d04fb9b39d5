import Foundation
import Hummingbird
import PhaseWatchCore
import Probing
import Synchronization

/// `POST /api/v1/targets/{name}/probe`: probes a configured target now, exactly as the
/// scheduler does, and answers with the result and what each attempt showed (`ProbeDebug`).
/// The probe is the asker's: it is not stored, and changes no state, metric or SLO. A `GET`
/// there is a 405 (`RouteTable` prefers this route to the `/api/**` fallback).
struct ProbeNowController {
    /// The configured target of that name, if any.
    let target: @Sendable (_ name: String) -> Target?
    /// The shared curl loop, as the scheduler's.
    var prober = Prober()
    var limiter = ProbeNowLimiter()

    var endpoints: RouteCollection<AgentRequestContext> {
        RouteCollection(context: AgentRequestContext.self)
            .post("/api/v1/targets/{name}/probe", use: probe)
    }

    @Sendable func probe(_ request: Request, context: AgentRequestContext) async throws -> ProbeNow {
        let name = context.parameters.get("name") ?? ""
        guard let target = target(name) else {
            throw APIError.unknownTarget(name)
        }
        switch limiter.acquire(name, now: .now) {
        case .granted:
            break
        case .refused(let why, let retryAfter):
            throw APIError(status: .tooManyRequests, code: "rate_limited", message: why, headers: [.retryAfter: "\(retryAfter)"])
        }
        defer { limiter.release(name) }
        let probed = await prober.probeWithDebug(target)
        return ProbeNow(result: probed.result.withRedactedURL, debug: probed.debug)
    }
}

struct ProbeNow: ResponseEncodable {
    let result: ProbeResult
    let debug: ProbeDebug
}

/// Probes on demand are the asker's traffic to someone else's server, made from where the agent
/// sits: one at a time per target, and a bounded number a minute over all targets, so a
/// script (or a fuzzer) in a loop cannot turn the agent into a load generator.
final class ProbeNowLimiter: Sendable {
    enum Verdict: Equatable {
        case granted
        /// Why, and the seconds to wait (`Retry-After`).
        case refused(String, retryAfter: Int)
    }

    let perMinute: Int
    private let state = Mutex<(running: Set<String>, started: [ContinuousClock.Instant])>(([], []))

    init(perMinute: Int = 30) {
        self.perMinute = perMinute
    }

    func acquire(_ target: String, now: ContinuousClock.Instant) -> Verdict {
        state.withLock { state in
            if state.running.contains(target) {
                return .refused("a probe of \"\(target)\" is already running", retryAfter: 1)
            }
            state.started.removeAll { now - $0 >= .seconds(60) }
            if state.started.count >= perMinute, let oldest = state.started.first {
                let wait = Int((.seconds(60) - (now - oldest)).seconds.rounded(.up))
                return .refused("at most \(perMinute) probes on demand a minute", retryAfter: max(1, wait))
            }
            state.started.append(now)
            state.running.insert(target)
            return .granted
        }
    }

    func release(_ target: String) {
        _ = state.withLock { $0.running.remove(target) }
    }
}
