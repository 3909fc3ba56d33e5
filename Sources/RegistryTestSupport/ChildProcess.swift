import Foundation

/// A child process that is always killed: by `terminate()`, or at the latest when this object goes
/// away, so a failing test never leaves a registry running.
final class ChildProcess: @unchecked Sendable {
    // @unchecked: Foundation's Process is not Sendable; every access below holds `lock`.
    private let process = Process()
    private let lock = NSLock()

    init(executable: String, arguments: [String], environment: [String: String], output: FileHandle) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = environment
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    var isRunning: Bool { lock.withLock { process.isRunning } }
    var pid: Int32 { lock.withLock { process.processIdentifier } }

    func terminate() {
        lock.withLock {
            guard process.isRunning else { return }
            process.terminate()
            process.waitUntilExit()
        }
    }

    deinit { terminate() }
}
