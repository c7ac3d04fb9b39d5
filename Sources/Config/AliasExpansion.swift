import CYaml

/// Guards the composer against "billion laughs" keys. Yams checks each mapping for duplicate
/// keys by hashing them, and a key that is a collection of aliases hashes its whole expansion:
/// nine levels of anchors that each repeat the previous one ten times are 10⁹ nodes, minutes of
/// CPU for a 600-byte file (found by `ConfigFuzzTests`). Values are never expanded, so only keys
/// are measured: the document's events are read once with libyaml before Yams composes it.
enum AliasExpansion {
    /// Keys in a config are plain names (one node); this leaves room for any key a person writes.
    static let maxKeyNodes = 1000

    struct Oversized: Equatable {
        let line: Int
        let column: Int
        let nodes: Int
    }

    /// The first mapping key whose expansion has more than `maxKeyNodes` nodes, or nil.
    /// Documents libyaml rejects are left to Yams, which reports the syntax error.
    static func oversizedKey(in yaml: String) -> Oversized? {
        // Without an alias nothing expands; most configs stop here.
        guard yaml.utf8.contains(UInt8(ascii: "*")) else { return nil }
        var text = yaml
        return text.withUTF8 { buffer in
            var parser = yaml_parser_t()
            guard yaml_parser_initialize(&parser) == 1 else { return nil }
            defer { yaml_parser_delete(&parser) }
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            var walk = Walk()
            while true {
                var event = yaml_event_t()
                guard yaml_parser_parse(&parser, &event) == 1 else { return nil }
                defer { yaml_event_delete(&event) }
                if event.type == YAML_STREAM_END_EVENT { return nil }
                if let found = walk.next(event) { return found }
            }
        }
    }

    /// Node counts with aliases expanded, saturating far below overflow.
    private struct Walk {
        struct Frame {
            let isMapping: Bool
            let anchor: String?
            let line: Int
            let column: Int
            var nodes = 1
            /// In a mapping: whether the next node completed is a key.
            var expectingKey = true
        }

        static let cap = 1 << 40
        var stack: [Frame] = []
        var anchors: [String: Int] = [:]

        mutating func next(_ event: yaml_event_t) -> Oversized? {
            let line = Int(event.start_mark.line) + 1
            let column = Int(event.start_mark.column) + 1
            switch event.type {
            case YAML_DOCUMENT_START_EVENT:
                stack = []
                anchors = [:]
                return nil
            case YAML_SCALAR_EVENT:
                return completed(nodes: 1, anchor: Self.name(event.data.scalar.anchor), line: line, column: column)
            case YAML_ALIAS_EVENT:
                let nodes = Self.name(event.data.alias.anchor).flatMap { anchors[$0] } ?? 1
                return completed(nodes: nodes, anchor: nil, line: line, column: column)
            case YAML_SEQUENCE_START_EVENT:
                stack.append(Frame(isMapping: false, anchor: Self.name(event.data.sequence_start.anchor), line: line, column: column))
                return nil
            case YAML_MAPPING_START_EVENT:
                stack.append(Frame(isMapping: true, anchor: Self.name(event.data.mapping_start.anchor), line: line, column: column))
                return nil
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                guard let frame = stack.popLast() else { return nil }
                return completed(nodes: frame.nodes, anchor: frame.anchor, line: frame.line, column: frame.column)
            default:
                return nil
            }
        }

        /// A node ended: remember its size under its anchor and add it to its parent.
        private mutating func completed(nodes: Int, anchor: String?, line: Int, column: Int) -> Oversized? {
            if let anchor { anchors[anchor] = nodes }
            guard var parent = stack.popLast() else { return nil }
            defer { stack.append(parent) }
            parent.nodes = min(Self.cap, parent.nodes + nodes)
            if parent.isMapping {
                defer { parent.expectingKey.toggle() }
                if parent.expectingKey, nodes > maxKeyNodes {
                    return Oversized(line: line, column: column, nodes: nodes)
                }
            }
            return nil
        }

        static func name(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
            pointer.map { String(cString: $0) }
        }
    }
}
