import Foundation

/// What kate answers for one review. Encoded by `encode(version:)` into the exact shape
/// kube-apiserver verifies: same apiVersion/kind as the request, the request's uid, and
/// `patchType` only together with a non-empty patch.
public struct AdmissionResponse: Sendable, Equatable {
    /// A denial's `status` (metav1.Status); only read by the apiserver when `allowed` is false.
    public struct Denial: Sendable, Equatable {
        public var code: Int
        public var reason: String
        public var message: String
        public init(code: Int, reason: String, message: String) {
            self.code = code
            self.reason = reason
            self.message = message
        }
    }

    public var uid: String
    public var allowed: Bool
    public var denial: Denial?
    /// RFC 6902 operations; empty means "no change" and no `patch`/`patchType` is sent.
    public var patch: [PatchOperation]
    public var warnings: [String]

    public init(uid: String, allowed: Bool = true, denial: Denial? = nil, patch: [PatchOperation] = [], warnings: [String] = []) {
        self.uid = uid
        self.allowed = allowed
        self.denial = denial
        self.patch = patch
        self.warnings = warnings
    }

    public static func allow(_ uid: String, warnings: [String] = []) -> AdmissionResponse {
        AdmissionResponse(uid: uid, warnings: warnings)
    }

    public static func deny(_ uid: String, code: Int, reason: String, message: String, warnings: [String] = []) -> AdmissionResponse {
        AdmissionResponse(uid: uid, allowed: false, denial: Denial(code: code, reason: reason, message: message), warnings: warnings)
    }

    // MARK: Wire shape

    private struct Review: Encodable {
        var apiVersion: String
        var kind = "AdmissionReview"
        var response: Body
    }

    private struct Body: Encodable {
        var uid: String
        var allowed: Bool
        var status: Status?
        var patchType: String?
        /// Standard base64 (with padding) of the JSON Patch bytes, as Go encodes `[]byte`.
        var patch: String?
        var warnings: [String]?
    }

    private struct Status: Encodable {
        var metadata: [String: String] = [:]
        var status = "Failure"
        var message: String
        var reason: String
        var code: Int
    }

    public func encode(version: AdmissionReviewVersion) -> [UInt8] {
        let patchBytes = patch.isEmpty ? nil : JSONPatchEncoder.encode(patch)
        let body = Body(
            uid: uid,
            allowed: allowed,
            status: allowed ? nil : denial.map { Status(message: $0.message, reason: $0.reason, code: $0.code) },
            patchType: patchBytes == nil ? nil : "JSONPatch",
            patch: patchBytes.map { Data($0).base64EncodedString() },
            warnings: warnings.isEmpty ? nil : warnings
        )
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        // Encoding plain strings, bools and ints cannot fail; an empty body would still be a clear
        // failure on the apiserver side rather than a crash here.
        return (try? Array(encoder.encode(Review(apiVersion: version.rawValue, response: body)))) ?? []
    }
}
