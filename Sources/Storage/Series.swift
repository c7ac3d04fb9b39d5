import PhaseWatchCore

/// Where a target's results are kept (docs/storage.md#connection-series): its fresh requests
/// under the target's own row of `target`, its requests on kept connections under a second row,
/// "<target> reused", so that each kind has its own rollups and SLO windows and the numbers of
/// a target's fresh probes never change when it starts reusing connections.
enum Series {
    /// The `target` row name of `target`'s results of `kind` (nil: a `connection: fresh` target).
    static func name(_ target: String, _ kind: ConnectionKind?) -> String {
        kind == .reused ? target + suffix : target
    }

    /// The `connection` column of the row named `name`: "reused" for a series of reused requests.
    static func connection(ofRow name: String) -> String? {
        name.hasSuffix(suffix) ? ConnectionKind.reused.rawValue : nil
    }

    /// The target whose results the row named `name` holds.
    static func target(ofRow name: String) -> String {
        name.hasSuffix(suffix) ? String(name.dropLast(suffix.count)) : name
    }

    /// Target names are `[a-zA-Z0-9_.-]+`: a space never clashes with one.
    private static let suffix = " reused"
}
