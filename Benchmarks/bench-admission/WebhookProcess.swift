import Foundation
import KateNet

/// A webhook server under test running as its own process (the release `kate` binary or the Go
/// baseline), so its CPU is read from /proc/PID/stat and nothing of the benchmark's own work
/// (registries, token server, wrk) is counted in it.
final class WebhookProcess {
    let name: String
    let port: Int
    private let process: SpawnedProcess
    private let logFile: URL

    /// Starts `executable` and waits until it accepts TCP connections on `port`.
    init(name: String, executable: String, arguments: [String], environment: [String: String] = [:], port: Int, logDirectory: URL) throws {
        self.name = name
        self.port = port
        logFile = logDirectory.appendingPathComponent(String(name.map { $0.isLetter || $0.isNumber ? $0 : "-" }) + ".log")
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        // A clean environment: no KUBECONFIG or in-cluster variables, so `--pull-secrets auto`
        // finds no cluster, as on a machine without one; HOME without a ~/.kube/config.
        var env = ["PATH": "/usr/bin:/bin", "HOME": logDirectory.path]
        env.merge(environment) { _, new in new }
        process = try SpawnedProcess(
            executable: executable, arguments: arguments, environment: env, stdout: .file(logFile.path), stderr: .standardOutput)
        let deadline = Date().addingTimeInterval(120)
        while !Self.accepts(port: port) {
            guard process.isRunning else { throw BenchReview.Failure(description: "\(name) exited at start:\n\(self.log)") }
            guard Date() < deadline else { throw BenchReview.Failure(description: "\(name) did not listen on \(port) within 120 s:\n\(self.log)") }
            usleep(50_000)
        }
    }

    var pid: Int32 { process.pid }

    /// What the server wrote to stdout/stderr so far.
    var log: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    var logBytes: Int { ((try? FileManager.default.attributesOfItem(atPath: logFile.path))?[.size] as? Int) ?? 0 }

    /// User + system CPU seconds of the server so far (`utime` + `stime`, fields 14 and 15 of
    /// /proc/PID/stat, in clock ticks).
    func cpuSeconds() -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return 0 }
        // Fields after "(comm)": state is field 3, so utime (14) is index 11 here.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// Resident memory in MiB (VmRSS).
    func rssMiB() -> Double {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
        else { return 0 }
        return (Double(line.split(separator: " ")[1]) ?? 0) / 1024
    }

    /// SIGINT (a graceful drain, as on a rollout), SIGKILL after 25 s; reaped.
    func stop() {
        guard process.isRunning else { return }
        process.signal(SIGINT)
        let deadline = Date().addingTimeInterval(25)
        while process.isRunning, Date() < deadline { usleep(50_000) }
        if process.isRunning { process.signal(SIGKILL) }
        _ = process.waitBlocking()
    }

    static func accepts(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    /// A port nothing listens on right now (bound to :0, read, closed).
    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
