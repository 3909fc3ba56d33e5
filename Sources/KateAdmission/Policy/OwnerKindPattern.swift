import Foundation
import KateContract

/// One `--pin-operator-owned KIND[.GROUP]`: `Cluster.postgresql.cnpg.io` names one kind of one API group;
/// `Cluster` names that kind in any group. Kinds compare without regard to case (as `kubectl get cluster` does),
/// groups are DNS names and compare lower-cased.
public struct OwnerKindPattern: Sendable, Hashable, CustomStringConvertible {
    public let kind: String
    /// nil: any group.
    public let group: String?

    /// nil when `text` has no kind (empty, or starting with a dot).
    public init?(_ text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let first = trimmed.first, first != "." else { return nil }
        if let dot = trimmed.firstIndex(of: ".") {
            let group = trimmed[trimmed.index(after: dot)...]
            guard !group.isEmpty else { return nil }
            kind = trimmed[..<dot].lowercased()
            self.group = group.lowercased()
        } else {
            kind = trimmed.lowercased()
            group = nil
        }
    }

    public func matches(_ owner: OperatorOwnership.Owner) -> Bool {
        owner.kind.lowercased() == kind && (group == nil || owner.group.lowercased() == group)
    }

    public var description: String { group.map { "\(kind).\($0)" } ?? kind }
}
