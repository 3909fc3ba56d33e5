import Foundation
import KateNet

/// Writes the bcrypt htpasswd line distribution's `htpasswd` auth accepts (it takes bcrypt only).
/// Uses apache2-utils' `htpasswd` when installed, else Python's `crypt` (libxcrypt's bcrypt).
enum Htpasswd {
    struct Unavailable: Error, CustomStringConvertible {
        let description: String
    }

    static func line(user: String, password: String) throws -> String {
        for dir in ["/usr/bin", "/usr/local/bin"] where FileManager.default.isExecutableFile(atPath: dir + "/htpasswd") {
            // -C 4: the minimum cost; these hashes guard throwaway test registries, and every
            // registry request re-verifies the hash.
            let out = try Subprocess.run(dir + "/htpasswd", ["-nbB", "-C", "4", user, password])
            if out.status == 0, let line = out.stdout.split(separator: "\n").first { return String(line) }
        }
        let script = "import crypt,sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))"
        if let python = Subprocess.which("python3") {
            let out = try Subprocess.run(python, ["-W", "ignore", "-c", script, password])
            let hash = out.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            if out.status == 0, hash.hasPrefix("$2") { return "\(user):\(hash)" }
        }
        throw Unavailable(description: "no bcrypt tool for the htpasswd test registry: install apache2-utils (scripts/install-deps.sh)")
    }
}

/// Runs a short-lived helper program and collects its output.
enum Subprocess {
    struct Output {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// KateNet's posix_spawn runner, not Foundation's `Process` (crashes in Swift 6.3.1, corelibs-foundation PR #5472).
    static func run(_ executable: String, _ arguments: [String]) throws -> Output {
        let output = try ChildProcessRunner.runBlocking(executable: executable, arguments: arguments, timeout: .seconds(60))
        return Output(status: output.status, stdout: String(decoding: output.stdout, as: UTF8.self), stderr: String(decoding: output.stderr, as: UTF8.self))
    }

    static func which(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}
