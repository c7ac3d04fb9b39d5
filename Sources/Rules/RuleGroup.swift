/// A Prometheus rule file as plain values: groups of recording and alerting rules.
/// `RuleFile.yaml` turns them into the text Prometheus loads.
public struct RuleGroup: Sendable, Equatable {
    public var name: String
    public var rules: [Rule]

    public init(name: String, rules: [Rule]) {
        self.name = name
        self.rules = rules
    }
}

public struct Rule: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// A recording rule: the new series' name.
        case record(String)
        /// An alerting rule: the alert's name.
        case alert(String)
    }

    public var kind: Kind
    public var expr: String
    /// How long the condition must hold before the alert fires (alerts only).
    public var pending: String?
    /// Labels added to (or replacing those of) every resulting series, in this order.
    public var labels: [(String, String)]
    public var annotations: [(String, String)]

    public init(
        _ kind: Kind, expr: String, pending: String? = nil, labels: [(String, String)] = [],
        annotations: [(String, String)] = []
    ) {
        self.kind = kind
        self.expr = expr
        self.pending = pending
        self.labels = labels
        self.annotations = annotations
    }

    public static func == (a: Rule, b: Rule) -> Bool {
        a.kind == b.kind && a.expr == b.expr && a.pending == b.pending
            && a.labels.elementsEqual(b.labels, by: ==) && a.annotations.elementsEqual(b.annotations, by: ==)
    }

    public var name: String {
        switch kind {
        case .record(let name), .alert(let name): name
        }
    }
}
