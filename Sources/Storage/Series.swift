import PhaseWatchCore

/// Where a target's results are kept (docs/storage.md#connection-series): its fresh requests
/// under the target's own row of `target`, its requests on kept connections under a second row,
/// "<target> reused", so that each kind has its own rollups and SLO windows and the numbers of
/// a target's fresh probes never change when it starts reusing connections. The per-address
/// results of an `ip_policy: all` target go under "<target> @<address>", one row per address,
/// so the target's own series holds one result per run, as its SLOs count them.
enum Series {
    /// The `target` row name of `target`'s results of `kind` (nil: a `connection: fresh`
    /// target), or of one address's.
    static func name(_ target: String, _ kind: ConnectionKind?, address: String? = nil) -> String {
        if let address { return target + addressMark + address }
        return kind == .reused ? target + reused : target
    }

    /// The `connection` column of the row named `name`: "reused" for a series of reused requests.
    static func connection(ofRow name: String) -> String? {
        name.hasSuffix(reused) ? ConnectionKind.reused.rawValue : nil
    }

    /// The target whose results the row named `name` holds.
    static func target(ofRow name: String) -> String {
        if let mark = name.range(of: addressMark) { return String(name[..<mark.lowerBound]) }
        return name.hasSuffix(reused) ? String(name.dropLast(reused.count)) : name
    }

    /// The address whose results the row named `name` holds; nil for a target's own series.
    static func address(ofRow name: String) -> String? {
        name.range(of: addressMark).map { String(name[$0.upperBound...]) }
    }

    /// Target names are `[a-zA-Z0-9_.-]+`: a space never clashes with one.
    private static let reused = " reused"
    private static let addressMark = " @"
}
