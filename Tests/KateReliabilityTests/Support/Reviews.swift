import Foundation
import KateAdmission

/// AdmissionReviews as kube-apiserver sends them: `examples/admission-review.json` (a real
/// Deployment-made Pod with four containers, one already pinned) with its unpinned images moved
/// to the registry a test controls.
enum Reviews {
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    struct FixtureError: Error, CustomStringConvertible { let description: String }

    /// The example review with every unpinned image rehomed to `registry` (keeping repository
    /// and tag), a fresh uid, and `editObject` applied to `request.object`.
    static func podCreate(registry: String, editObject: (inout [String: Any]) -> Void = { _ in }) throws -> [UInt8] {
        let url = packageRoot.appendingPathComponent("examples/admission-review.json")
        guard var root = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any],
            var request = root["request"] as? [String: Any], var object = request["object"] as? [String: Any],
            var spec = object["spec"] as? [String: Any]
        else { throw FixtureError(description: "examples/admission-review.json is not an AdmissionReview with a Pod") }
        for list in ["containers", "initContainers"] {
            guard let containers = spec[list] as? [[String: Any]] else { continue }
            spec[list] = containers.map { container in
                var container = container
                if let image = container["image"] as? String, !image.contains("@") {
                    container["image"] = registry + "/" + repositoryAndTag(image)
                }
                return container
            }
        }
        object["spec"] = spec
        editObject(&object)
        request["object"] = object
        request["uid"] = UUID().uuidString.lowercased()
        root["request"] = request
        return Array(try JSONSerialization.data(withJSONObject: root))
    }

    /// `request.object` exactly as it is in the review's JSON (what the apiserver applies a patch to).
    static func rawObject(_ review: [UInt8]) -> [String: Any]? {
        let root = try? JSONSerialization.jsonObject(with: Data(review)) as? [String: Any]
        return (root?["request"] as? [String: Any])?["object"] as? [String: Any]
    }

    static func request(_ review: [UInt8]) throws -> AdmissionRequest {
        try AdmissionReviewDecoder.decode(review).request
    }

    /// `ghcr.io/acme/app:v1` → `acme/app:v1`; `fluent/fluent-bit:3.1` stays.
    private static func repositoryAndTag(_ image: String) -> String {
        let parts = image.split(separator: "/", maxSplits: 1)
        guard parts.count == 2, parts[0].contains(".") || parts[0].contains(":") || parts[0] == "localhost" else { return image }
        return String(parts[1])
    }

    /// How many containers of the example carry an unpinned image (each gets its own warning).
    static let unpinnedImages = 3
}
