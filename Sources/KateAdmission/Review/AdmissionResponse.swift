import KateNet

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

    /// `{"apiVersion":…,"kind":"AdmissionReview","response":{"uid":…,"allowed":…,…}}`; `patch`
    /// is standard base64 with padding, as Go encodes `[]byte`.
    public func encode(version: AdmissionReviewVersion) -> [UInt8] {
        var writer = JSONWriter(capacity: 256 + patch.count * 160)
        writer.raw("{\"apiVersion\":")
        writer.string(version.rawValue)
        writer.raw(",\"kind\":\"AdmissionReview\",\"response\":{\"uid\":")
        writer.string(uid)
        writer.raw(",\"allowed\":")
        writer.bool(allowed)
        if !allowed, let denial {
            writer.raw(",\"status\":{\"metadata\":{},\"status\":\"Failure\",\"message\":")
            writer.string(denial.message)
            writer.raw(",\"reason\":")
            writer.string(denial.reason)
            writer.raw(",\"code\":")
            writer.int(denial.code)
            writer.raw("}")
        }
        if !patch.isEmpty {
            writer.raw(",\"patchType\":\"JSONPatch\",\"patch\":")
            writer.plainString(Base64.encode(JSONPatchEncoder.encode(patch)))
        }
        if !warnings.isEmpty {
            writer.raw(",\"warnings\":")
            writer.stringArray(warnings)
        }
        writer.raw("}}")
        return writer.bytes
    }
}
