import Yams

extension YAMLDocument {
    /// Yams' errors as one located ConfigError. Its own descriptions embed a snippet of the file
    /// over several lines; docs/config.md#errors gives one line per error, so only the problem is kept.
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
        let lines = YAMLLines.split(yaml)
        let indent = first.column - 1
        guard first.line >= 1, first.line < lines.count else { return nil }
        for index in first.line..<lines.count {
            let scalars = lines[index]
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
        let lines = YAMLLines.split(yaml)
        guard line >= 1, line <= lines.count, column >= 1 else { return nil }
        let scalars = lines[line - 1]
        return column <= scalars.count ? scalars[column - 1] : nil
    }

    /// Line and column (1-based, in Unicode scalars like libyaml) of a Character offset.
    private static func position(ofCharacterOffset offset: Int, in text: String) -> (line: Int, column: Int) {
        let prefix = String(text.prefix(offset))
        let lines = YAMLLines.split(prefix, keepingEmptyLast: true)
        return (lines.count, lines[lines.count - 1].count + 1)
    }
}

/// The lines of a YAML text as libyaml counts them: broken at CR, LF, CR LF, NEL, LS and PS.
enum YAMLLines {
    /// Each line's Unicode scalars, without its break. The empty line after a final break is
    /// left out unless `keepingEmptyLast` (editors show a file ending in a break as ending
    /// with that line); an empty text is one empty line.
    static func split(_ text: String, keepingEmptyLast: Bool = false) -> [[Unicode.Scalar]] {
        var lines: [[Unicode.Scalar]] = [[]]
        var previousCR = false
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n" where previousCR:
                break
            case "\r", "\n", "\u{85}", "\u{2028}", "\u{2029}":
                lines.append([])
            default:
                lines[lines.count - 1].append(scalar)
            }
            previousCR = scalar == "\r"
        }
        if !keepingEmptyLast, lines.count > 1, lines[lines.count - 1].isEmpty {
            lines.removeLast()
        }
        return lines
    }

    /// `line`:`column` moved back inside the text when it lies past its end: libyaml reports
    /// the end of the input on the line after the last one (and Yams keeps that), which an
    /// editor cannot jump to. The end of the last line is where the file ends.
    static func clamp(line: Int, column: Int, lines: [[Unicode.Scalar]]) -> (line: Int, column: Int) {
        guard line >= 1 else { return (line, column) }
        if line > lines.count { return (lines.count, lines[lines.count - 1].count + 1) }
        return (line, max(1, min(column, lines[line - 1].count + 1)))
    }
}
