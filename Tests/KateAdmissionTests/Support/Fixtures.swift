import Foundation
import KateAdmission

/// The example reviews under `examples/` (real shapes, as kube-apiserver sends them), and
/// variants made by applying JSON Patch edits to them.
enum Fixtures {
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static let podCreate = "admission-review.json"
    static let ephemeralUpdate = "ephemeral-containers-update-review.json"
    static let pinnedAlready = "pinned-already-review.json"

    static func bytes(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: packageRoot.appendingPathComponent("examples").appendingPathComponent(name)))
    }

    /// The example `name` with `edits` (a JSON Patch, pointers relative to the review) applied.
    static func review(_ name: String, edits: String = "[]") throws -> [UInt8] {
        let document = try JSONValue.parse(bytes(name))
        return try JSONPatchApplier.apply(patch: Array(edits.utf8), to: document).bytes
    }

    /// Replaces every image string in the review (both objects) through `map`, e.g. to point
    /// the example's hosts at a loopback registry.
    static func review(_ name: String, edits: String = "[]", images map: (String) -> String) throws -> [UInt8] {
        let document = try JSONValue.parse(review(name, edits: edits))
        return rewriteImages(document, map).bytes
    }

    private static func rewriteImages(_ value: JSONValue, _ map: (String) -> String) -> JSONValue {
        switch value {
        case .object(var o):
            for (key, child) in o {
                if key == "image", case .string(let s) = child { o[key] = .string(map(s)) } else { o[key] = rewriteImages(child, map) }
            }
            return .object(o)
        case .array(let a):
            return .array(a.map { rewriteImages($0, map) })
        default:
            return value
        }
    }

    static func request(_ bytes: [UInt8]) throws -> AdmissionRequest {
        try AdmissionReviewDecoder.decode(bytes).request
    }

    /// `request.object` of a review: the document kate's patch must apply to.
    static func object(_ bytes: [UInt8]) throws -> JSONValue {
        guard let object = try JSONValue.parse(bytes).at("/request/object") else {
            throw JSONPatchApplier.Failure(description: "review has no request.object")
        }
        return object
    }

    static let uid = "4b1f3c2e-8d7a-4e59-9c1b-2f6a0d3e7b91"
}
