import KateKube

/// The AdmissionReview versions kate answers. The response must carry the version the request
/// came in (kube-apiserver decodes the answer into the type it sent).
public enum AdmissionReviewVersion: String, Sendable {
    case v1 = "admission.k8s.io/v1"
    case v1beta1 = "admission.k8s.io/v1beta1"
}

/// A decoded review: the version to echo and the request.
public struct DecodedAdmissionReview: Sendable {
    public var version: AdmissionReviewVersion
    public var request: AdmissionRequest
}

/// Why a body is not an AdmissionReview kate can answer; becomes an HTTP 400 with this text.
public struct ReviewDecodingError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

public enum AdmissionReviewDecoder {
    /// Decodes an AdmissionReview body. Throws `ReviewDecodingError` naming what is wrong.
    public static func decode(_ body: [UInt8]) throws(ReviewDecodingError) -> DecodedAdmissionReview {
        guard !body.isEmpty else { throw ReviewDecodingError("empty body; expected an AdmissionReview JSON object") }
        var reader = JSONReader(body)
        var apiVersion: String?, kind: String?
        var request: Result<AdmissionRequest, ReviewDecodingError>?
        do {
            try reader.readObject { (reader: inout JSONReader, key: JSONReader.Key) throws(JSONReader.Failure) in
                switch key {
                case "apiVersion": apiVersion = try reader.readOptionalString()
                case "kind": kind = try reader.readOptionalString()
                case "request": request = try reader.consumeNull() ? nil : try reader.readAdmissionRequest()
                default: try reader.skipValue()
                }
            }
            try reader.expectEnd()
        } catch {
            throw ReviewDecodingError("malformed AdmissionReview: \(error)")
        }
        // Version and kind first: a review of the wrong kind is reported as such, not as
        // whatever its request happens to lack.
        guard kind == "AdmissionReview" else {
            throw ReviewDecodingError("kind is \(kind.map { "\"\($0)\"" } ?? "missing"), expected \"AdmissionReview\"")
        }
        guard let apiVersion, let version = AdmissionReviewVersion(rawValue: apiVersion) else {
            throw ReviewDecodingError("apiVersion \(apiVersion ?? "missing") is not supported; use admission.k8s.io/v1 (or v1beta1)")
        }
        guard let request else { throw ReviewDecodingError("AdmissionReview has no request") }
        switch request {
        case .success(let request): return DecodedAdmissionReview(version: version, request: request)
        case .failure(let error): throw error
        }
    }
}

extension JSONReader {
    /// Structural problems throw; a request that is well-formed JSON but lacks a required field
    /// comes back as a `.failure` naming the field.
    mutating func readAdmissionRequest() throws(Failure) -> Result<AdmissionRequest, ReviewDecodingError> {
        var uid: String?, kind: GroupVersionKind?, operation: String?
        var subResource: String?, name: String?, namespace: String?, userName: String?
        var dryRun = false
        var object: Pod?, oldObject: Pod?
        var problem: String?
        try readObject { (reader: inout JSONReader, key: Key) throws(Failure) in
            switch key {
            case "uid": uid = try reader.readOptionalString()
            case "kind": kind = try reader.consumeNull() ? nil : try reader.readGroupVersionKind()
            case "subResource": subResource = try reader.readOptionalString()
            case "name": name = try reader.readOptionalString()
            case "namespace": namespace = try reader.readOptionalString()
            case "operation": operation = try reader.readOptionalString()
            case "dryRun": dryRun = try reader.consumeNull() ? false : try reader.readBool()
            case "userInfo":
                if try reader.consumeNull() { return }
                try reader.readObject { (reader: inout JSONReader, key: Key) throws(Failure) in
                    if key == "username" { userName = try reader.readOptionalString() } else { try reader.skipValue() }
                }
            case "object", "oldObject":
                // Read as a Pod on a copy; if it is not one kate can read, skip it on the original
                // (which still checks it is well-formed JSON) and remember why.
                var attempt = reader
                do throws(Failure) {
                    let pod = try attempt.consumeNull() ? nil : try attempt.readPod()
                    if key == "object" { object = pod } else { oldObject = pod }
                    reader = attempt
                } catch {
                    problem = problem ?? "\(key): \(error.message)"
                    try reader.skipValue()
                }
            default: try reader.skipValue()
            }
        }
        guard let uid else { return .failure(ReviewDecodingError("malformed AdmissionReview: missing field request.uid")) }
        guard !uid.isEmpty else { return .failure(ReviewDecodingError("request.uid is empty")) }
        guard let kind else { return .failure(ReviewDecodingError("malformed AdmissionReview: missing field request.kind")) }
        guard let operation else { return .failure(ReviewDecodingError("malformed AdmissionReview: missing field request.operation")) }
        var request = AdmissionRequest(
            uid: uid, kind: kind, subResource: subResource, name: name, namespace: namespace, operation: operation,
            dryRun: dryRun, userName: userName, object: nil, oldObject: nil)
        // Only a core Pod's objects are kept; other kinds are allowed untouched whatever they hold.
        if request.isPod {
            if let problem {
                request.podDecodingProblem = problem
            } else {
                request.object = object
                request.oldObject = oldObject
            }
        }
        return .success(request)
    }

    private mutating func readGroupVersionKind() throws(Failure) -> GroupVersionKind {
        var group = "", version = "", kind = ""
        try readObject { (reader: inout JSONReader, key: Key) throws(Failure) in
            switch key {
            case "group": group = try reader.readOptionalString() ?? ""
            case "version": version = try reader.readOptionalString() ?? ""
            case "kind": kind = try reader.readOptionalString() ?? ""
            default: try reader.skipValue()
            }
        }
        return GroupVersionKind(group: group, version: version, kind: kind)
    }
}
