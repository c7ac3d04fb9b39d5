import Yams

/// The YAML of a Prometheus rule file (`groups: [{name, rules: [...]}]`), emitted by Yams so
/// quoting is always right; multi-line expressions become literal blocks, readable as PromQL.
public enum RuleFile {
    public static func yaml(_ groups: [RuleGroup], header: String) throws -> String {
        let node = Node.mapping(Node.Mapping([
            (key("groups"), Node.sequence(Node.Sequence(groups.map(group))))
        ]))
        let body = try Yams.serialize(node: node, indent: 2, width: -1)
        let comment = header.split(separator: "\n", omittingEmptySubsequences: false).map { "# \($0)" }.joined(separator: "\n")
        return comment + "\n" + body
    }

    private static func group(_ group: RuleGroup) -> Node {
        .mapping(Node.Mapping([
            (key("name"), plain(group.name)),
            (key("rules"), .sequence(Node.Sequence(group.rules.map(rule)))),
        ]))
    }

    private static func rule(_ rule: Rule) -> Node {
        var pairs: [(Node, Node)] = []
        switch rule.kind {
        case .record(let name): pairs.append((key("record"), plain(name)))
        case .alert(let name): pairs.append((key("alert"), plain(name)))
        }
        pairs.append((key("expr"), rule.expr.contains("\n") ? literal(rule.expr) : plain(rule.expr)))
        if let pending = rule.pending { pairs.append((key("for"), plain(pending))) }
        if !rule.labels.isEmpty { pairs.append((key("labels"), strings(rule.labels))) }
        if !rule.annotations.isEmpty { pairs.append((key("annotations"), strings(rule.annotations))) }
        return .mapping(Node.Mapping(pairs))
    }

    /// Label and annotation values are strings: one a YAML reader would take for a number,
    /// a boolean or null (`99.9`, `true`) is quoted.
    private static func strings(_ pairs: [(String, String)]) -> Node {
        .mapping(Node.Mapping(pairs.map { name, value in
            let readsAsString = Resolver.default.resolveTag(of: .scalar(Node.Scalar(value))) == .str
            return (key(name), .scalar(Node.Scalar(value, Tag(.str), readsAsString ? .any : .singleQuoted)))
        }))
    }

    private static func key(_ text: String) -> Node { .scalar(Node.Scalar(text)) }
    private static func plain(_ text: String) -> Node { .scalar(Node.Scalar(text, Tag(.str), .any)) }
    private static func literal(_ text: String) -> Node { .scalar(Node.Scalar(text + "\n", Tag(.str), .literal)) }
}
