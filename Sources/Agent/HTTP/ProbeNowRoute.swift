import Foundation
import Hummingbird
import PhaseWatchCore
import Probing
import Synchronization

/// `POST /api/v1/targets/{name}/probe`: probes a configured target now, exactly as the
/// scheduler does, and answers with the result and what each attempt showed (`ProbeDebug`).
/// The probe is the asker's: it is not stored, and changes no state, metric or SLO.
enum ProbeNowRoute {
    static func add(to router: RouteTable.Recorder, runtime: AgentRuntime, limiter: ProbeNowLimiter = ProbeNowLimiter()) {
        let prober = Prober()  // the shared curl loop, as the scheduler's
        router.post("/api/v1/targets/{name}/probe") { _, context -> Response in
            let name = context.parameters.get("name") ?? ""
            guard let target = runtime.config.targets.first(where: { $0.name == name }) else {
                return APIError(status: .notFound, code: "unknown_target", message: "no configured target named \"\(name)\"").response()
            }
            switch limiter.acquire(name, now: .now) {
            case .granted:
                break
            case .refused(let why, let retryAfter):
                var headers = HTTPFields()
                headers[.retryAfter] = "\(retryAfter)"
                return APIError(status: .tooManyRequests, code: "rate_limited", message: why).response(headers: headers)
            }
            defer { limiter.release(name) }
            let probed = await prober.probeWithDebug(target)
            return try HistoryRoutes.json(ProbeNow(result: probed.result.withRedactedURL, debug: probed.debug))
        }
        // GET would otherwise fall to the `/api/**` wildcard's 404. Not recorded in the route
        // table: the path takes POST only.
        router.router.get(RouterPath("/api/v1/targets/{name}/probe")) { request, _ -> Response in
            var headers = HTTPFields()
            headers[.allow] = "POST"
            return APIError(status: .methodNotAllowed, code: "method_not_allowed", message: "\(request.method.rawValue) is not allowed here")
                .response(headers: headers)
        }
    }
}

struct ProbeNow: Encodable {
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
