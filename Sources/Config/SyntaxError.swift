import Yams

extension ConfigLoader {
    /// Yams' errors as one located ConfigError. Its own descriptions embed a snippet of the file
    /// over several lines; the contract wants one line per error, so only the problem is kept.
    static func syntaxError(_ error: any Error, file: String) -> ConfigError {
        func located(_ line: Int, _ column: Int, _ message: String) -> ConfigError {
            ConfigError(file: file, line: line, column: column, key: "", message: message)
        }
        func syntax(_ context: YamlError.Context?, _ problem: String, _ mark: Mark, _ yaml: String) -> ConfigError {
            var message = "YAML syntax error: \(problem)"
            if let context {
                // libyaml's context is either "while parsing …" or, for composer errors, the
                // first half of a sentence the problem ends ("… but found another document").
                let at = "at line \(context.mark.line), column \(context.mark.column)"
                message = problem.hasPrefix("but ")
                    ? "YAML syntax error: \(context.text) (\(at)), \(problem)"
                    : "\(message) (\(context.text) \(at))"
            }
            if character(atLine: mark.line, column: mark.column, in: yaml) == "\t" {
                message += "; YAML does not allow tabs for indentation, use spaces"
            }
            return located(mark.line, mark.column, message)
        }
        switch error as? YamlError {
        case .scanner(let context, let problem, let mark, let yaml),
            .parser(let context, let problem, let mark, let yaml),
            .composer(let context, let problem, let mark, let yaml):
            return syntax(context, problem, mark, yaml)
        case .duplicatedKeysInMapping(let duplicates, let context):
            // Yams points at the first occurrence of the (alphabetically first) duplicated key;
            // the second one is the likely mistake, so point there when it can be found.
            let first = context.mark
            if duplicates.count == 1,
                let second = secondOccurrence(of: duplicates[0], after: first, in: context.text)
            {
                return located(second.line, second.column, "duplicate key \"\(duplicates[0])\" (first used on line \(first.line))")
            }
            let keys = duplicates.map { "\"\($0)\"" }.joined(separator: ", ")
            let noun = duplicates.count == 1 ? "key" : "keys"
            return located(first.line, first.column, "duplicate \(noun) \(keys): each key may appear only once in a mapping")
        case .reader(let problem, let offset, _, let yaml):
            let (line, column) = offset.map { position(ofCharacterOffset: $0, in: yaml) } ?? (1, 1)
            return located(line, column, "YAML syntax error: \(problem)")
        default:
            return located(1, 1, "YAML syntax error: \(error)")
        }
    }

    /// Where a block-style mapping repeats `key`: a later line with the key at the same column
    /// as the first occurrence and only spaces before it, searched until the mapping ends (a
    /// line indented less). Flow style (`{a: 1, a: 2}`) is not searched.
    private static func secondOccurrence(of key: String, after first: Mark, in yaml: String) -> (line: Int, column: Int)? {
        let lines = yaml.split(separator: "\n", omittingEmptySubsequences: false)
        let indent = first.column - 1
        guard first.line < lines.count else { return nil }
        for index in first.line..<lines.count {
            let scalars = Array(lines[index].unicodeScalars)
            guard let start = scalars.firstIndex(where: { $0 != " " }), scalars[start] != "#" else { continue }
            if start < indent { return nil }
            guard start == indent else { continue }
            let rest = String(String.UnicodeScalarView(scalars[start...]))
            guard rest.hasPrefix(key) else { continue }
            if rest.dropFirst(key.count).drop(while: { $0 == " " }).hasPrefix(":") {
                return (index + 1, first.column)
            }
        }
        return nil
    }

    private static func character(atLine line: Int, column: Int, in yaml: String) -> Unicode.Scalar? {
        let lines = yaml.split(separator: "\n", omittingEmptySubsequences: false)
        guard line >= 1, line <= lines.count, column >= 1 else { return nil }
        let scalars = Array(lines[line - 1].unicodeScalars)
        return column <= scalars.count ? scalars[column - 1] : nil
    }

    /// Line and column (1-based, in Unicode scalars like libyaml) of a Character offset.
    private static func position(ofCharacterOffset offset: Int, in text: String) -> (line: Int, column: Int) {
        var line = 1
        var column = 1
        for character in text.prefix(offset) {
            if character.isNewline {
                line += 1
                column = 1
            } else {
                column += character.unicodeScalars.count
            }
        }
        return (line, column)
    }
}
