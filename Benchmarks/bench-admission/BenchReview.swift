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

    /// The example pod pointed at `host`, padded to ~10 KB with the kind of env a real app
    /// container carries. `bare` drops the ReplicaSet owner, so every review goes through the
    /// resolver's cache instead of the owner-revision memory.
    static func cached(host: String, bare: Bool) throws -> [UInt8] {
        var review = try example()
        try edit(&review) { pod in
            guard var metadata = pod["metadata"] as? [String: Any], var spec = pod["spec"] as? [String: Any],
                var containers = spec["containers"] as? [[String: Any]], var inits = spec["initContainers"] as? [[String: Any]]
            else { throw Failure(description: "unexpected example shape") }
            if bare { metadata["ownerReferences"] = nil }
            containers[0]["image"] = "\(host)/shop/web:2.4.1"
            containers[0]["env"] = (1...80).map { ["name": "SHOP_SETTING_\($0)", "value": "value-\($0)-\(String(repeating: "x", count: 24))"] }
            inits[0]["image"] = "\(host)/acme/shop-migrate:v42"
            inits[1]["image"] = "\(host)/fluent/fluent-bit:3.1"
            spec["containers"] = containers
            spec["initContainers"] = inits
            pod["metadata"] = metadata
            pod["spec"] = spec
        }
        return Array(try JSONSerialization.data(withJSONObject: review))
    }

    /// A bare pod with one container per tag and nothing else to pin.
    static func fiveContainers(host: String, tags: [String]) throws -> [UInt8] {
        var review = try example()
        try edit(&review) { pod in
            guard var metadata = pod["metadata"] as? [String: Any], var spec = pod["spec"] as? [String: Any] else {
                throw Failure(description: "unexpected example shape")
            }
            metadata["ownerReferences"] = nil
            spec["initContainers"] = nil
            spec["containers"] = tags.enumerated().map { i, tag in
                ["name": "app\(i + 1)", "image": "\(host)/\(tag)", "resources": [String: Any](), "imagePullPolicy": "IfNotPresent"] as [String: Any]
            }
            pod["metadata"] = metadata
            pod["spec"] = spec
        }
        return Array(try JSONSerialization.data(withJSONObject: review))
    }
}

