import Foundation

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

    static func describe(_ error: any Error) -> String {
        guard let decoding = error as? DecodingError else { return "\(error)" }
        func path(_ keys: [any CodingKey]) -> String {
            keys.isEmpty ? "<root>" : keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch decoding {
        case .keyNotFound(let key, let context):
            return "missing field \(path(context.codingPath + [key]))"
        case .typeMismatch(let type, let context):
            return "\(path(context.codingPath)) is not a \(type)"
        case .valueNotFound(let type, let context):
            return "\(path(context.codingPath)) is null, expected \(type)"
        case .dataCorrupted(let context):
            let underlying = context.underlyingError.map { ": \($0.localizedDescription)" } ?? ""
            return "invalid JSON at \(path(context.codingPath)) (\(context.debugDescription)\(underlying))"
        @unknown default:
            return "\(decoding)"
        }
    }
}

public enum AdmissionReviewDecoder {
    /// Reads apiVersion and kind before the request, so a review of the wrong version is
    /// reported as such rather than as whatever field its request happens to lack.
    private struct Envelope: Decodable {
        var apiVersion: String?
        var kind: String?
        var request: AdmissionRequest?

        private enum CodingKeys: String, CodingKey { case apiVersion, kind, request }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            apiVersion = try c.decodeIfPresent(String.self, forKey: .apiVersion)
            kind = try c.decodeIfPresent(String.self, forKey: .kind)
            guard kind == "AdmissionReview", apiVersion.flatMap(AdmissionReviewVersion.init(rawValue:)) != nil else { return }
            request = try c.decodeIfPresent(AdmissionRequest.self, forKey: .request)
        }
    }

    /// Decodes an AdmissionReview body. Throws `ReviewDecodingError` naming what is wrong.
    public static func decode(_ body: [UInt8]) throws(ReviewDecodingError) -> DecodedAdmissionReview {
        guard !body.isEmpty else { throw ReviewDecodingError(description: "empty body; expected an AdmissionReview JSON object") }
        let envelope: Envelope
        do {
            envelope = try JSONDecoder().decode(Envelope.self, from: Data(body))
        } catch {
            throw ReviewDecodingError(description: "malformed AdmissionReview: " + ReviewDecodingError.describe(error))
        }
        guard envelope.kind == "AdmissionReview" else {
            throw ReviewDecodingError(description: "kind is \(envelope.kind.map { "\"\($0)\"" } ?? "missing"), expected \"AdmissionReview\"")
        }
        guard let apiVersion = envelope.apiVersion, let version = AdmissionReviewVersion(rawValue: apiVersion) else {
            throw ReviewDecodingError(
                description: "apiVersion \(envelope.apiVersion ?? "missing") is not supported; use admission.k8s.io/v1 (or v1beta1)")
        }
        guard let request = envelope.request else {
            throw ReviewDecodingError(description: "AdmissionReview has no request")
        }
        guard !request.uid.isEmpty else { throw ReviewDecodingError(description: "request.uid is empty") }
        return DecodedAdmissionReview(version: version, request: request)
    }
}
