import Foundation
import PhaseWatchCore

/// One configured target as the API (`/api/v1/targets`, `/api/v1/targets/{name}`) and the
/// status page show it: its settings without secrets, its live state and its last probe.
struct TargetSummary: Sendable {
    let name: String
    /// The URL with any password masked (`URLRedaction.redacted`).
    let url: String
    let method: String
    let interval: Duration
    let intervalWhileFailing: Duration?
    /// The interval the target runs at now (`interval_while_failing` while it is failing).
    let effectiveInterval: Duration
    /// `global.location`, the same for every target of an agent.
    let location: String
    /// Whether the target has an `slo` section.
    let hasSLO: Bool
    let state: TargetState
    /// Nil before the first state change.
    let stateSince: Date?
    let stateReason: String
    /// The last probe, its URL masked as well; nil before the first.
    let last: ProbeResult?
    let ipPolicy: IPPolicy
    let addressSuccess: AddressSuccess
    /// The last run's result per address of an `ip_policy: all` target (URLs masked).
    let addresses: [ProbeResult]

    /// `state` is nil for a target the state machines do not know yet.
    init(
        _ target: Target, location: String, state: (state: TargetState, since: Date?, reason: String)?, last: ProbeResult?,
        addresses: [ProbeResult] = []
    ) {
        name = target.name
        url = URLRedaction.redacted(target.url)
        method = target.method
        interval = target.interval
        intervalWhileFailing = target.intervalWhileFailing
        self.location = location
        hasSLO = target.slo != nil
        self.state = state?.state ?? .unknown
        effectiveInterval = target.interval(failing: self.state.isFailing(latestSucceeded: last?.success))
        stateSince = state?.since
        stateReason = state?.reason ?? "no probe yet"
        self.last = last?.withRedactedURL
        ipPolicy = target.ipPolicy
        addressSuccess = target.addressSuccess
        self.addresses = addresses.map(\.withRedactedURL)
    }
}

/// The API's target object (docs/api.md#get-apiv1targets): the page's `method` and `hasSLO`
/// are not part of it.
extension TargetSummary: Encodable {
    enum CodingKeys: String, CodingKey {
        case name, url, location, interval, state, last
        case intervalWhileFailing = "interval_while_failing"
        case effectiveInterval = "effective_interval"
        case stateSince = "state_since"
        case stateReason = "state_reason"
        case ipPolicy = "ip_policy"
        case addressSuccess = "success"
        case addresses
    }

    /// One address of an `ip_policy: all` target and its last result.
    struct AddressJSON: Encodable {
        let ip: String
        let last: ProbeResult
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(url, forKey: .url)
        try c.encode(location, forKey: .location)
        try c.encode(PromDuration.format(interval), forKey: .interval)
        try c.encode(intervalWhileFailing.map(PromDuration.format), forKey: .intervalWhileFailing)  // null when not set
        try c.encode(PromDuration.format(effectiveInterval), forKey: .effectiveInterval)
        try c.encode(state, forKey: .state)
        try c.encode(stateSince, forKey: .stateSince)  // null before the first state change
        try c.encode(stateReason, forKey: .stateReason)
        try c.encode(last, forKey: .last)  // null before the first probe
        try c.encode(ipPolicy.rawValue, forKey: .ipPolicy)
        if ipPolicy == .all {
            try c.encode(addressSuccess.rawValue, forKey: .addressSuccess)
            try c.encode(addresses.map { AddressJSON(ip: $0.address ?? "", last: $0) }, forKey: .addresses)
        }
    }
}

extension ProbeResult {
    /// The result with a password in its URL masked. Probes record the masked URL already;
    /// results stored by versions before that still hold the password, so the API masks every
    /// result it serves as well.
    var withRedactedURL: ProbeResult {
        var result = self
        result.url = URLRedaction.redacted(url)
        return result
    }
}
