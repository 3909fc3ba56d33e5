import Foundation
import Glibc
import KateNet
import Testing

/// KateNet's long-running posix_spawn child, which replaces Foundation's `Process` for the test registries, servers
/// and clients the tests start (`Process.run()` crashes in Swift 6.3.1: swift-corelibs-foundation PR #5472).
@Suite("Long-running child processes through posix_spawn")
struct SpawnedProcessTests {
    /// Reads the pipe until `marker` arrived (the child is up), blocking; what was read.
    static func read(_ fd: Int32, until marker: String) -> String {
        var text = ""
        var byte: UInt8 = 0
        while !text.contains(marker), Glibc.read(fd, &byte, 1) == 1 { text.append(Character(UnicodeScalar(byte))) }
        return text
    }

    /// No child and no zombie under `pid`: waitpid has nothing to reap.
    static func reaped(_ pid: pid_t) -> Bool {
        var status: Int32 = 0
        return waitpid(pid, &status, WNOHANG) == -1 && errno == ECHILD
    }

    @Test("a long-running child is started, read, terminated with SIGTERM and reaped: no zombie")
    func startReadTerminate() async throws {
        let child = try SpawnedProcess(executable: "/bin/sh", arguments: ["-c", "echo ready; echo warn >&2; exec sleep 30"])
        #expect(child.pid > 0)
        #expect(Self.read(try #require(child.standardOutput), until: "ready\n") == "ready\n")
        #expect(Self.read(try #require(child.standardError), until: "warn\n") == "warn\n")
        #expect(child.isRunning)
        #expect(child.exitStatus == nil)
        let started = ContinuousClock.now
        let status = await child.terminate(grace: .seconds(5))
        #expect(status == 128 + SIGTERM)
        #expect(ContinuousClock.now - started < .seconds(3), "sleep obeys SIGTERM: no wait for the grace period")
        #expect(child.exitStatus == status && !child.isRunning)
        #expect(Self.reaped(child.pid))
        #expect(!child.signal(SIGTERM), "a reaped pid is never signalled again")
    }

    @Test("a child that ignores SIGTERM is killed with SIGKILL once the grace period passed")
    func ignoresTerm() async throws {
        let child = try SpawnedProcess(
            executable: "/bin/sh", arguments: ["-c", "trap '' TERM; echo ready; while :; do sleep 0.05; done"], stderr: .discard)
        _ = Self.read(try #require(child.standardOutput), until: "ready\n")
        let started = ContinuousClock.now
        let status = await child.terminate(grace: .milliseconds(300))
        let took = ContinuousClock.now - started
        #expect(status == 128 + SIGKILL)
        #expect(took >= .milliseconds(300), "SIGKILL only after the grace period (\(took))")
        #expect(took < .seconds(5))
        #expect(Self.reaped(child.pid))
        // The blocking variant does the same.
        let other = try SpawnedProcess(executable: "/bin/sh", arguments: ["-c", "trap '' TERM; echo ready; while :; do sleep 0.05; done"])
        _ = Self.read(try #require(other.standardOutput), until: "ready\n")
        #expect(other.terminateBlocking(grace: .milliseconds(200)) == 128 + SIGKILL)
        #expect(Self.reaped(other.pid))
    }

    @Test("dropping the object kills and reaps a child still running; wait() returns the exit status of one that ended")
    func deinitReaps() async throws {
        var pid: pid_t = 0
        do {
            let child = try SpawnedProcess(executable: "/bin/sleep", arguments: ["30"], stdout: .discard, stderr: .discard)
            pid = child.pid
            #expect(kill(pid, 0) == 0)
        }
        #expect(pid > 0 && Self.reaped(pid), "deinit reaped the child")
        #expect(kill(pid, 0) == -1 && errno == ESRCH)

        let exiting = try SpawnedProcess(executable: "/bin/sh", arguments: ["-c", "exit 7"])
        #expect(await exiting.wait() == 7)
        #expect(Self.reaped(exiting.pid))
        #expect(throws: NetError.self) { try SpawnedProcess(executable: "/nonexistent/kate-registry", arguments: []) }
    }

    @Test("output to a file; with 400 descriptors open (half without close-on-exec) the child sees only 0, 1 and 2")
    func fileOutputAndNoInheritedDescriptors() async throws {
        var open: [Int32] = []
        defer { for fd in open { close(fd) } }
        for index in 0..<200 {
            var fds: [Int32] = [-1, -1]
            guard pipe(&fds) == 0 else { break }
            if index % 2 == 0 {
                _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
                _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
            }
            open += fds
        }
        #expect(open.count == 400)
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("kate-spawn-\(UUID().uuidString).log").path
        defer { try? FileManager.default.removeItem(atPath: log) }
        let child = try SpawnedProcess(
            executable: "/bin/sh", arguments: ["-c", "ls /proc/$$/fd; echo done >&2"], stdout: .file(log), stderr: .standardOutput)
        #expect(await child.wait() == 0)
        let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(lines.last == "done")
        #expect(Set(lines.dropLast()) == ["0", "1", "2"], "inherited descriptors: \(lines.dropLast().suffix(12))")
    }
}
