import Foundation

/// Reviews built from `examples/admission-review.json` (the real shape the apiserver sends).
enum BenchReview {
    struct Failure: Error, CustomStringConvertible { let description: String }

    static func example() throws -> [String: Any] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("examples/admission-review.json")
        guard let review = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any] else {
            throw Failure(description: "\(url.path) is not a JSON object")
        }
        return review
    }

    private static func edit(_ review: inout [String: Any], _ change: (inout [String: Any]) throws -> Void) throws {
        guard var request = review["request"] as? [String: Any], var pod = request["object"] as? [String: Any] else {
            throw Failure(description: "example review has no request.object")
        }
        try change(&pod)
        request["object"] = pod
        review["request"] = request
    }

    /// A bare pod (no owner, so every image goes through the resolver's cache rather than the
    /// owner-revision memory) with one container per image, each shaped like the example's app
    /// container; the first carries the env of a real app (~10 KB review for one image).
    static func pod(images: [String]) throws -> [UInt8] {
        var review = try example()
        try edit(&review) { pod in
            guard var metadata = pod["metadata"] as? [String: Any], var spec = pod["spec"] as? [String: Any],
                let template = (spec["containers"] as? [[String: Any]])?.first
            else { throw Failure(description: "unexpected example shape") }
            metadata["ownerReferences"] = nil
            spec["initContainers"] = nil
            spec["containers"] = images.enumerated().map { index, image in
                var container = template
                container["name"] = index == 0 ? "app" : "sidecar-\(index)"
                container["image"] = image
                if index == 0 {
                    container["env"] = (1...80).map { ["name": "SHOP_SETTING_\($0)", "value": "value-\($0)-\(String(repeating: "x", count: 24))"] }
                }
                return container
            }
            pod["metadata"] = metadata
            pod["spec"] = spec
        }
        return Array(try JSONSerialization.data(withJSONObject: review))
    }
}
