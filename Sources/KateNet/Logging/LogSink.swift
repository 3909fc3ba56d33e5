#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Where finished log lines go. Each call gets one whole line (newline included), so a sink
/// that writes it with one `write(2)` never interleaves two lines.
public protocol LogSink: Sendable {
    func write(line: [UInt8])
}

/// A file descriptor, stderr by default: one `write(2)` per line (atomic on pipes for lines up
/// to PIPE_BUF, which is how container runtimes collect stderr), retried on EINTR and short writes.
public struct FileDescriptorLogSink: LogSink {
    public let descriptor: Int32

    public init(descriptor: Int32 = 2) { self.descriptor = descriptor }

    public static let standardError = FileDescriptorLogSink(descriptor: 2)

    public func write(line: [UInt8]) {
        line.withUnsafeBytes { raw in
            guard var base = raw.baseAddress else { return }
            var left = raw.count
            while left > 0 {
                let written = systemWrite(descriptor, base, left)
                if written < 0 {
                    if errno == EINTR { continue }
                    return  // a closed or full stderr must not take the webhook down
                }
                left -= written
                base += written
            }
        }
    }
}

/// `write(2)` under a name the `write(line:)` method does not shadow.
private func systemWrite(_ descriptor: Int32, _ base: UnsafeRawPointer, _ count: Int) -> Int {
    write(descriptor, base, count)
}
