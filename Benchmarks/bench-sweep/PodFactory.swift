import Foundation

/// Running pods as `kubectl get -o json` shows them, spread over namespaces and tags.
enum PodFactory {
    struct BenchPod {
        var image: String
        var json: [UInt8]
    }

    /// - Parameter staleEvery: every Nth pod runs a digest the tag no longer points to (0 = none).
    static func pods(count: Int, tags: Int, registry: String, digests: [String], staleEvery: Int) -> [BenchPod] {
        let stale = "sha256:" + String(repeating: "5e", count: 32)
        return (0..<count).map { index in
            let tag = index % tags
            let image = "\(registry)/bench/svc\(tag):v1"
            let running = staleEvery > 0 && index % staleEvery == 0 ? stale : digests[tag]
            let namespace = "team-\(index % 20)"
            let name = "svc\(tag)-\(index)"
            let pod: [String: Any] = [
                "apiVersion": "v1", "kind": "Pod",
                "metadata": [
                    "name": name, "namespace": namespace, "uid": "uid-\(index)", "resourceVersion": "1",
                    "labels": ["app": "svc\(tag)"], "creationTimestamp": "2026-11-20T10:00:00Z",
                ],
                "spec": [
                    "containers": [["name": "app", "image": image, "imagePullPolicy": "IfNotPresent"]],
                    "nodeName": "node-\(index % 50)", "serviceAccountName": "default", "restartPolicy": "Always",
                ],
                "status": [
                    "phase": "Running",
                    "containerStatuses": [[
                        "name": "app", "image": image, "imageID": "\(registry)/bench/svc\(tag)@\(running)", "ready": true,
                        "restartCount": 0, "state": ["running": ["startedAt": "2026-11-20T10:00:05Z"]],
                    ]],
                ],
            ]
            let bytes = (try? JSONSerialization.data(withJSONObject: pod, options: [.sortedKeys])) ?? Data()
            return BenchPod(image: image, json: Array(bytes))
        }
    }
}
