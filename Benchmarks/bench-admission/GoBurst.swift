import Foundation
import KateNet

/// Benchmarks/go-burst-client: the outage burst measured by a client kate did not write (Go
/// net/http, verifying the webhook's certificate), which also reads kate's own admission
/// histogram around the timed reviews.
struct GoBurst {
    struct Result {
        var p50ms: Double
        var p99ms: Double
        var maxms: Double
        var failed: Int
        /// The smallest `kate_admission_duration_seconds` bucket bound holding 99 % of the timed reviews.
        var serverP99BoundMs: Double
        /// Reviews the histogram counted during the timed part (should equal the reviews sent).
        var serverCounted: Int
    }

    let binary: String
    /// The AdmissionReview whose one image the client replaces per request, and the webhook's CA.
    let reviewFile: String
    let caFile: String

    init(binary: String, directory: URL, caPEM: String) throws {
        self.binary = binary
        reviewFile = directory.appendingPathComponent("burst-review.json").path
        caFile = directory.appendingPathComponent("burst-ca.pem").path
        try Data(try BenchReview.pod(images: ["IMAGE_PLACEHOLDER"])).write(to: URL(fileURLWithPath: reviewFile))
        try Data(caPEM.utf8).write(to: URL(fileURLWithPath: caFile))
    }

    /// `count` reviews at `concurrency` of `image` (`%d` → the review's index) after untimed
    /// warm-up reviews of `warmImage`, one per connection.
    func run(port: Int, image: String, warmImage: String, count: Int = 200, concurrency: Int = 16) async throws -> Result {
        let output = try await ChildProcessRunner.run(
            executable: binary,
            arguments: [
                "-url", "https://127.0.0.1:\(port)/mutate?timeout=10s", "-metrics-url", "https://127.0.0.1:\(port)/metrics",
                "-ca", caFile, "-server-name", "kate.kate-system.svc", "-review", reviewFile,
                "-image", image, "-warm-image", warmImage, "-n", "\(count)", "-c", "\(concurrency)",
            ],
            timeout: .seconds(120))
        guard output.status == 0, let object = try? JSONSerialization.jsonObject(with: Data(output.stdout)) as? [String: Any],
            let p50 = object["p50_ms"] as? Double, let p99 = object["p99_ms"] as? Double, let max = object["max_ms"] as? Double,
            let failed = object["failed"] as? Int, let bound = object["server_p99_le_ms"] as? Double,
            let counted = object["server_counted"] as? Double
        else {
            throw BenchReview.Failure(description: """
                go-burst-client exited \(output.status): \(String(decoding: output.stdout, as: UTF8.self))
                \(String(decoding: output.stderr, as: UTF8.self))
                """)
        }
        return Result(p50ms: p50, p99ms: p99, maxms: max, failed: failed, serverP99BoundMs: bound, serverCounted: Int(counted))
    }
}
