import Foundation
import KateNet

/// Drives `wrk` (keep-alive HTTPS POSTs from a Lua script) and parses its `--latency` report.
struct Wrk {
    struct Result {
        var requestsPerSecond: Double
        var p50ms: Double
        var p99ms: Double
        var errors: String
        /// CPU time of this process (the server under test) per request, and of wrk per request:
        /// on a 2-core machine the two share the cores, so both bound the rate.
        var requests = 0
        var serverMicrosPerRequest = 0.0
        var wrkMicrosPerRequest = 0.0
    }

    /// User + system CPU seconds of this process or of its waited-for children.
    static func cpuSeconds(_ who: __rusage_who) -> Double {
        var usage = rusage()
        getrusage(who.rawValue, &usage)
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    let directory: URL
    let url: String

    init(body: [UInt8], url: String) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("kate-bench-admission-\(ProcessInfo.processInfo.processIdentifier)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try Data(body).write(to: directory.appendingPathComponent("review.json"))
        let script = """
            local f = assert(io.open("\(directory.path)/review.json", "rb"))
            wrk.method = "POST"
            wrk.body = f:read("*a")
            f:close()
            wrk.headers["Content-Type"] = "application/json"
            """
        try script.write(to: directory.appendingPathComponent("post.lua"), atomically: true, encoding: .utf8)
        self.url = url
    }

    /// Removes the temporary body and script.
    func cleanUp() { try? FileManager.default.removeItem(at: directory) }

    /// `scripts/wrk/pace.lua`, shared with `scripts/bench-net.sh`.
    static let pacingScript = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("scripts/wrk/pace.lua")

    /// One wrk run. With `rate` (requests/s over all connections), wrk is paced by
    /// `scripts/wrk/pace.lua`: the latency at a given load instead of the queue of a saturated
    /// closed loop (p99 ≈ connections / throughput).
    /// - Parameter serverCPU: the server's CPU seconds so far (this process's by default; a
    ///   `WebhookProcess`'s for a server in its own process).
    func run(
        connections: Int, duration: String, rate: Int? = nil, timeout: String = "5s",
        serverCPU: () -> Double = { Wrk.cpuSeconds(RUSAGE_SELF) }
    ) throws -> Result {
        let threads = connections == 1 ? 1 : 2
        var script = directory.appendingPathComponent("post.lua").path
        var environment = ProcessInfo.processInfo.environment
        if let rate {
            let paced = directory.appendingPathComponent("paced.lua")
            try (String(contentsOfFile: script, encoding: .utf8) + "\n" + String(contentsOf: Self.pacingScript, encoding: .utf8))
                .write(to: paced, atomically: true, encoding: .utf8)
            script = paced.path
            environment["KATE_WRK_RATE"] = String(rate)
            environment["KATE_WRK_THREADS"] = String(threads)
        }
        let serverBefore = serverCPU(), wrkBefore = Self.cpuSeconds(RUSAGE_CHILDREN)
        // Reaped before it returns, so RUSAGE_CHILDREN below includes wrk's CPU.
        let run = try ChildProcessRunner.runBlocking(
            executable: "/usr/bin/env",
            arguments: ["wrk", "-t", "\(threads)", "-c", "\(connections)", "-d", duration, "--timeout", timeout, "--latency", "-s", script, url],
            environment: environment, mergeStandardError: true, timeout: .seconds(600))
        let output = String(decoding: run.stdout, as: UTF8.self)
        guard run.status == 0 else { throw BenchReview.Failure(description: "wrk failed (status \(run.status)):\n\(output)") }
        var result = Self.parse(output)
        let requests = max(1, result.requests)
        result.serverMicrosPerRequest = (serverCPU() - serverBefore) * 1e6 / Double(requests)
        result.wrkMicrosPerRequest = (Self.cpuSeconds(RUSAGE_CHILDREN) - wrkBefore) * 1e6 / Double(requests)
        return result
    }

    static func parse(_ output: String) -> Result {
        var result = Result(requestsPerSecond: 0, p50ms: 0, p99ms: 0, errors: "none")
        for raw in output.split(separator: "\n") {
            let fields = raw.split(separator: " ", omittingEmptySubsequences: true)
            guard let first = fields.first else { continue }
            if first == "Requests/sec:", fields.count > 1 { result.requestsPerSecond = Double(fields[1]) ?? 0 }
            // "  123456 requests in 8.00s, 45.67MB read"
            if fields.count > 2, fields[1] == "requests", fields[2] == "in" { result.requests = Int(first) ?? 0 }
            if first == "50%", fields.count > 1 { result.p50ms = milliseconds(String(fields[1])) }
            if first == "99%", fields.count > 1 { result.p99ms = milliseconds(String(fields[1])) }
            if raw.contains("Non-2xx") || raw.contains("Socket errors") { result.errors = raw.trimmingCharacters(in: .whitespaces) }
        }
        return result
    }

    /// wrk prints `812.00us`, `1.23ms`, `1.05s`.
    static func milliseconds(_ text: String) -> Double {
        if text.hasSuffix("us") { return (Double(text.dropLast(2)) ?? 0) / 1000 }
        if text.hasSuffix("ms") { return Double(text.dropLast(2)) ?? 0 }
        if text.hasSuffix("s") { return (Double(text.dropLast(1)) ?? 0) * 1000 }
        return Double(text) ?? 0
    }
}
