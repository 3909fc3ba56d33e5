import Foundation

/// A parsed `labelSelector` query parameter, with the apiserver's matching rules:
/// `key=value`, `key==value`, `key!=value` (also true when the key is absent), `key in (a,b)`,
/// `key notin (a,b)` (also true when absent), `key` (exists), `!key` (does not exist).
/// Requirements are ANDed.
public struct LabelSelectorQuery: Sendable, Equatable {
    public enum Requirement: Sendable, Equatable {
        case equals(String, String)
        case notEquals(String, String)
        case `in`(String, Set<String>)
        case notIn(String, Set<String>)
        case exists(String)
        case doesNotExist(String)
    }

    public let requirements: [Requirement]

    public struct ParseError: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    public init(parsing text: String) throws(ParseError) {
        var requirements: [Requirement] = []
        for part in Self.splitTopLevel(text) {
            let trimmed = part.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            requirements.append(try Self.parseRequirement(trimmed))
        }
        self.requirements = requirements
    }

    public func matches(_ labels: [String: String]) -> Bool {
        requirements.allSatisfy { requirement in
            switch requirement {
            case .equals(let key, let value): labels[key] == value
            case .notEquals(let key, let value): labels[key] != value
            case .in(let key, let values): labels[key].map(values.contains) ?? false
            case .notIn(let key, let values): !(labels[key].map(values.contains) ?? false)
            case .exists(let key): labels[key] != nil
            case .doesNotExist(let key): labels[key] == nil
            }
        }
    }

    /// Splits on commas outside parentheses (`env in (a,b),tier=web` is two requirements).
    static func splitTopLevel(_ text: String) -> [String] {
        var parts: [String] = []
        var current = ""
        var depth = 0
        for character in text {
            switch character {
            case "(": depth += 1; current.append(character)
            case ")": depth -= 1; current.append(character)
            case "," where depth == 0: parts.append(current); current = ""
            default: current.append(character)
            }
        }
        parts.append(current)
        return parts
    }

    private static func parseRequirement(_ text: String) throws(ParseError) -> Requirement {
        if text.hasPrefix("!") {
            let key = String(text.dropFirst()).trimmingCharacters(in: .whitespaces)
            try validateKey(key, in: text)
            return .doesNotExist(key)
        }
        for (op, make) in [("!=", Requirement.notEquals), ("==", Requirement.equals), ("=", Requirement.equals)] {
            if let range = text.range(of: op) {
                let key = text[..<range.lowerBound].trimmingCharacters(in: .whitespaces)
                let value = text[range.upperBound...].trimmingCharacters(in: .whitespaces)
                try validateKey(key, in: text)
                try validateValue(value, in: text)
                return make(key, value)
            }
        }
        let words = text.split(separator: " ", maxSplits: 1).map(String.init)
        if words.count == 2 {
            let rest = words[1].trimmingCharacters(in: .whitespaces)
            for (op, isIn) in [("notin", false), ("in", true)] where rest.hasPrefix(op) {
                let set = rest.dropFirst(op.count).trimmingCharacters(in: .whitespaces)
                guard set.hasPrefix("("), set.hasSuffix(")") else {
                    throw ParseError(description: "unable to parse requirement: found '\(set)', expected: '('")
                }
                let values = set.dropFirst().dropLast().split(separator: ",", omittingEmptySubsequences: false)
                    .map { $0.trimmingCharacters(in: .whitespaces) }
                try validateKey(words[0], in: text)
                for value in values { try validateValue(value, in: text) }
                return isIn ? .in(words[0], Set(values)) : .notIn(words[0], Set(values))
            }
            throw ParseError(description: "unable to parse requirement: found '\(rest)', expected: in, notin, =, ==, !=, gt, lt")
        }
        try validateKey(text, in: text)
        return .exists(text)
    }

    /// Qualified names: an optional DNS prefix and `/`, then up to 63 of `[A-Za-z0-9._-]`.
    private static func validateKey(_ key: String, in text: String) throws(ParseError) {
        let name = key.split(separator: "/", maxSplits: 1).last.map(String.init) ?? ""
        guard !name.isEmpty, name.count <= 63, name.allSatisfy({ $0.isLetter || $0.isNumber || "._-".contains($0) }),
              name.first.map({ $0.isLetter || $0.isNumber }) ?? false
        else {
            throw ParseError(description: "unable to parse requirement: invalid label key \"\(key)\": name part must consist of alphanumeric characters, '-', '_' or '.'")
        }
    }

    private static func validateValue(_ value: String, in text: String) throws(ParseError) {
        guard value.count <= 63, value.allSatisfy({ $0.isLetter || $0.isNumber || "._-".contains($0) }) else {
            throw ParseError(description: "unable to parse requirement: invalid label value: \"\(value)\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.'")
        }
    }
}

/// A parsed `fieldSelector`: `field=value`, `field==value`, `field!=value`, ANDed. Only the
/// fields the apiserver indexes for the kind are accepted (others answer 400, as the real one does).
public struct FieldSelectorQuery: Sendable, Equatable {
    public struct Term: Sendable, Equatable {
        public var field: String
        public var value: String
        public var negated: Bool
    }

    public let terms: [Term]

    public init(parsing text: String, supportedFields: Set<String>) throws(LabelSelectorQuery.ParseError) {
        var terms: [Term] = []
        for part in text.split(separator: ",") {
            let item = String(part).trimmingCharacters(in: .whitespaces)
            if item.isEmpty { continue }
            var term: Term?
            for (op, negated) in [("!=", true), ("==", false), ("=", false)] {
                if let range = item.range(of: op) {
                    term = Term(field: String(item[..<range.lowerBound]), value: String(item[range.upperBound...]), negated: negated)
                    break
                }
            }
            guard let term else { throw .init(description: "invalid selector: '\(item)'; can't understand '\(item)'") }
            guard supportedFields.contains(term.field) else {
                throw .init(description: "field label not supported: \(term.field)")
            }
            terms.append(term)
        }
        self.terms = terms
    }

    public func matches(_ fields: [String: String]) -> Bool {
        matches { fields[$0] ?? "" }
    }

    /// Matches against a lookup (absent fields read as "").
    public func matches(_ value: (String) -> String) -> Bool {
        terms.allSatisfy { term in value(term.field) == term.value ? !term.negated : term.negated }
    }
}
