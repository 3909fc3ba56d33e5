/// Why a string is not a valid image reference. The description names the offending part so a
/// user can fix the manifest without reading the grammar.
public struct ImageReferenceError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case empty
        case invalidCharacters
        case invalidDomain
        case invalidPort
        case emptyPathComponent
        case uppercaseRepository
        case invalidPathComponent
        case hexRepositoryName
        case nameTooLong
        case emptyTag
        case invalidTag
        case tagTooLong
        case invalidDigest
        case unsupportedDigestAlgorithm
    }

    public let kind: Kind
    /// The full reference as the user wrote it.
    public let reference: String
    /// What is wrong, in one phrase ("tag longer than 128 characters").
    public let reason: String

    public init(_ kind: Kind, reference: String, reason: String) {
        self.kind = kind
        self.reference = reference
        self.reason = reason
    }

    public var description: String { "invalid image reference \"\(reference)\": \(reason)" }
}
