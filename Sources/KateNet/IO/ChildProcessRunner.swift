#if canImport(Glibc)
import Glibc
#endif

/// Runs a helper program to completion with `posix_spawn`, on the calling thread (callers run it on a thread of its
/// own, never on the cooperative pool): stdin from `input` (then closed), stdout and stderr read concurrently, the
/// child sent SIGTERM when `timeout` passes.
///
/// Why not Foundation's `Process`: on Linux, `Process.run()` lists `/proc/self/fd` to close inherited descriptors and
/// copies each `dirent`'s whole 256-byte `d_name`, reading past glibc's buffer when a record ends a page; with many
/// descriptors open (a webhook's connections, a test process's sockets) it crashes with SIGSEGV now and then
/// (swiftlang/swift-corelibs-foundation PR #5472, merged 2026-05, not in Swift 6.3.1's Foundation). kate's release
/// KateNetTests crashed there once in CI. Here the pipes are created close-on-exec and the child gets exactly
/// descriptors 0, 1 and 2 (glibc's `posix_spawn_file_actions_addclosefrom_np` closes the rest without listing them).
public enum ChildProcessRunner {
    public struct Output: Sendable, Equatable {
        /// The exit status, or 128 + the signal number when a signal ended the child (as a shell reports it).
        public var status: Int32
        public var stdout: [UInt8]
        public var stderr: [UInt8]
        /// The timeout passed and the child was sent SIGTERM.
        public var timedOut: Bool
    }

    /// The same, on a thread of its own, so the awaiting task's cooperative thread stays free. The child's own
    /// timeout bounds the wait; cancelling the task does not stop the child early.
    public static func run(
        executable: String, arguments: [String], environment: [String: String]? = nil, input: [UInt8] = [],
        mergeStandardError: Bool = false, timeout: Duration
    ) async throws -> Output {
        let slot = ContinuationSlot<Output>()
        return try await withCheckedThrowingContinuation { continuation in
            slot.store(continuation)
            do {
                try DetachedThread.start {
                    slot.resume(with: Result {
                        try runBlocking(
                            executable: executable, arguments: arguments, environment: environment, input: input,
                            mergeStandardError: mergeStandardError, timeout: timeout)
                    })
                }
            } catch {
                slot.resume(with: .failure(error))
            }
        }
    }

    /// - Parameters:
    ///   - environment: the child's whole environment; nil: this process's.
    ///   - mergeStandardError: stderr goes to the stdout pipe (`output.stderr` stays empty).
    /// - Throws: `NetError` when the pipes cannot be made or the program cannot be started (ENOENT, EACCES).
    public static func runBlocking(
        executable: String, arguments: [String], environment: [String: String]? = nil, input: [UInt8] = [],
        mergeStandardError: Bool = false, timeout: Duration
    ) throws -> Output {
        let child = try SpawnedProcess(
            executable: executable, arguments: arguments, environment: environment, stdin: .pipe, stdout: .pipe,
            stderr: mergeStandardError ? .standardOutput : .pipe)
        child.write(input)
        child.closeStandardInput()

        // One thread reads both pipes (a child that fills one must not block while we read the other) and keeps the
        // deadline: poll's timeout is the time left, and the child is signalled before it is reaped, so the pid
        // cannot have been reused.
        var streams = [child.standardOutput, child.standardError].compactMap { $0 }.map { (fd: $0, bytes: [UInt8]()) }
        var open = Array(streams.indices)
        let deadline = ContinuousClock.now + timeout
        var timedOut = false
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while !open.isEmpty {
            var fds = open.map { pollfd(fd: streams[$0].fd, events: Int16(POLLIN), revents: 0) }
            let left = deadline - ContinuousClock.now
            let milliseconds = timedOut ? -1 : max(0, Int32(clamping: left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000))
            let ready = poll(&fds, nfds_t(fds.count), milliseconds)
            if ready < 0 {
                if errno == EINTR { continue }
                child.signal(SIGTERM)  // cannot wait for output any more: do not reap a child left running
                break
            }
            if ready == 0 {
                timedOut = true
                child.signal(SIGTERM)
                continue
            }
            var stillOpen: [Int] = []
            for (slot, index) in open.enumerated() {
                guard fds[slot].revents != 0 else { stillOpen.append(index); continue }
                let count = chunk.withUnsafeMutableBytes { Glibc.read(streams[index].fd, $0.baseAddress, $0.count) }
                if count > 0 {
                    streams[index].bytes += chunk[0..<count]
                    stillOpen.append(index)
                } else if count < 0, errno == EINTR {
                    stillOpen.append(index)
                }
            }
            open = stillOpen
        }
        let status = child.waitBlocking()
        return Output(status: status, stdout: streams.first?.bytes ?? [], stderr: streams.count > 1 ? streams[1].bytes : [], timedOut: timedOut)
    }
}
