/// Which of a name's addresses a target probes (docs/probing.md#addresses).
public enum IPPolicy: String, Sendable, Equatable, CaseIterable {
    /// The address curl picks, as any client would: one result per run.
    case first
    /// Every address the name resolves to, in the same run, each on its own connection: one
    /// result per address, and the target's result by `AddressSuccess`.
    case all
}

/// When a run of an `ip_policy: all` target is good (docs/probing.md#addresses).
public enum AddressSuccess: String, Sendable, Equatable, CaseIterable {
    /// Some address answered well: clients that fail over see the service up.
    case any
    /// Every address answered well: one broken address is an outage for the clients it gets.
    case all
}

extension AddressSuccess {
    /// The result that decides a run of an `ip_policy: all` target, among its addresses'
    /// (in address order, none empty): with `all`, the first failure, else the slowest success;
    /// with `any`, the fastest success, else the first failure. The target's result is that
    /// address's, so its phases, failure and `ip` say what made the run good or bad.
    public func deciding(_ results: [ProbeResult]) -> ProbeResult {
        precondition(!results.isEmpty, "a run of ip_policy: all probes at least one address")
        let successes = results.filter(\.success)
        let firstFailure = results.first { !$0.success }
        switch self {
        case .all:
            return firstFailure ?? successes.max { $0.duration < $1.duration }!
        case .any:
            return successes.min { $0.duration < $1.duration } ?? firstFailure!
        }
    }
}
