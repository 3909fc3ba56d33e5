import Foundation
import KateNet

/// What the old Node.js tool did per pod: `execSync("skopeo inspect …")`, one after another, with
/// the pull credentials on the command line.
enum OldWay {
    struct Result {
        var seconds: Double
        var count: Int
        var failures: Int
    }

    static func run(images: [String], user: String, password: String) throws -> Result {
        let started = ContinuousClock.now
        var failures = 0
        for image in images {
            // posix_spawn (KateNet), not Foundation's `Process` (crashes in Swift 6.3.1); waited for before the next.
            let child = try SpawnedProcess(
                executable: "/usr/bin/env",
                arguments: ["skopeo", "inspect", "--tls-verify=false", "--creds", "\(user):\(password)", "docker://\(image)"],
                stdout: .discard, stderr: .discard)
            if child.waitBlocking() != 0 { failures += 1 }
        }
        let elapsed = ContinuousClock.now - started
        return Result(seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18, count: images.count, failures: failures)
    }
}
