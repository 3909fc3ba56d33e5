import Glibc
import KateNet
import Testing

/// KateNet's posix_spawn runner, which replaces Foundation's `Process` for exec credential plugins (and openssl in
/// the TLS tests): `Process.run()` on Linux over-reads `/proc/self/fd` entries and crashed release KateNetTests once
/// in CI (swift-corelibs-foundation PR #5472).
@Suite("Child processes through posix_spawn")
struct ChildProcessRunnerTests {
    @Test("stdin in, stdout and stderr apart, the exit status")
    func pipesAndStatus() throws {
        let output = try ChildProcessRunner.runBlocking(
            executable: "/bin/sh", arguments: ["-c", "cat; echo err >&2; exit 3"], input: Array("hello".utf8), timeout: .seconds(10))
        #expect(output.status == 3)
        #expect(output.stdout == Array("hello".utf8))
        #expect(output.stderr == Array("err\n".utf8))
        #expect(!output.timedOut)
    }

    @Test("a child filling stderr while stdout is read does not deadlock; merged output keeps both")
    func largeOutputs() async throws {
        let output = try await ChildProcessRunner.run(
            executable: "/bin/sh", arguments: ["-c", "head -c 1000000 /dev/zero >&2; head -c 300000 /dev/zero; echo end"], timeout: .seconds(20))
        #expect(output.status == 0)
        #expect(output.stderr.count == 1_000_000)
        #expect(output.stdout.count == 300_004)
        let merged = try ChildProcessRunner.runBlocking(
            executable: "/bin/sh", arguments: ["-c", "echo out; echo err >&2"], mergeStandardError: true, timeout: .seconds(10))
        #expect(String(decoding: merged.stdout, as: UTF8.self).split(separator: "\n").sorted() == ["err", "out"])
        #expect(merged.stderr.isEmpty)
    }

    @Test("the environment is exactly the one given")
    func environment() throws {
        let output = try ChildProcessRunner.runBlocking(executable: "/usr/bin/env", arguments: [], environment: ["KATE_X": "1 2"], timeout: .seconds(10))
        #expect(String(decoding: output.stdout, as: UTF8.self) == "KATE_X=1 2\n")
    }

    @Test("past the timeout the child gets SIGTERM: status 143, timedOut, and the call returns at once")
    func timeout() throws {
        let started = ContinuousClock.now
        let output = try ChildProcessRunner.runBlocking(executable: "/bin/sleep", arguments: ["30"], timeout: .milliseconds(200))
        #expect(output.timedOut)
        #expect(output.status == 128 + SIGTERM)
        #expect(ContinuousClock.now - started < .seconds(10))
    }

    @Test("a program that does not exist is an error naming it")
    func missingProgram() {
        #expect(throws: NetError.self) {
            _ = try ChildProcessRunner.runBlocking(executable: "/nonexistent/kate-plugin", arguments: [], timeout: .seconds(5))
        }
    }

    @Test("with 600 descriptors open, 40 concurrent children each see only 0, 1 and 2 (nothing inherited, nothing listed)")
    func manyDescriptorsManyChildren() async throws {
        var open: [Int32] = []
        defer { for fd in open { close(fd) } }
        for _ in 0..<300 {
            var fds: [Int32] = [-1, -1]
            guard pipe(&fds) == 0 else { break }
            // As kate opens everything: close-on-exec.
            _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
            _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
            open += fds
        }
        #expect(open.count == 600)
        let listings = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<40 {
                group.addTask {
                    let output = try await ChildProcessRunner.run(
                        executable: "/bin/sh", arguments: ["-c", "ls /proc/$$/fd"], timeout: .seconds(20))
                    return String(decoding: output.stdout, as: UTF8.self)
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(listings.count == 40)
        for listing in listings {
            let fds = Set(listing.split(separator: "\n").map(String.init))
            // Without the close-from action the shell also held descriptors the test process opened without
            // close-on-exec (10…20 and 251 here); with Foundation's Process it would list them itself, the crash.
            #expect(fds.isSuperset(of: ["0", "1", "2"]))
            #expect(fds == ["0", "1", "2"], "inherited descriptors: \(fds.sorted(by: { (Int($0) ?? 0) < (Int($1) ?? 0) }).suffix(12))")
        }
    }
}
