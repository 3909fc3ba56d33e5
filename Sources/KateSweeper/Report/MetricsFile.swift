import Foundation

/// Writes the Prometheus text for node-exporter's textfile collector: to a temporary file in the same
/// directory, then rename(2), so a scrape never reads half a file.
///
/// A path that exists and is not a regular file (a device such as `/dev/stdout`, a FIFO) is written
/// to directly instead: renaming over it would replace the device node with a regular file (as
/// root, `/dev/full` would silently become a file) and hide the write's real outcome.
public enum MetricsFile {
    public static func write(_ bytes: [UInt8], to path: String) throws {
        var info = stat()
        if stat(path, &info) == 0, info.st_mode & S_IFMT != S_IFREG {
            try writeThrough(bytes, to: path)
            return
        }
        let url = URL(fileURLWithPath: path)
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(getpid()).tmp")
        do {
            try Data(bytes).write(to: temporary)
            guard rename(temporary.path, url.path) == 0 else {
                let reason = String(cString: strerror(errno))
                throw MetricsFileError(path: path, reason: "rename failed: \(reason)")
            }
        } catch let error as MetricsFileError {
            try? FileManager.default.removeItem(at: temporary)
            throw error
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw MetricsFileError(path: path, reason: "\(error.localizedDescription)")
        }
    }

    /// open(2) + write(2) loop for devices and FIFOs; errors carry errno's text ("No space left on device").
    private static func writeThrough(_ bytes: [UInt8], to path: String) throws {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw MetricsFileError(path: path, reason: "open failed: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { buffer -> Int in
                guard let base = buffer.baseAddress else { return 0 }
                return Glibc.write(fd, base + offset, buffer.count - offset)
            }
            if written < 0 {
                if errno == EINTR { continue }
                throw MetricsFileError(path: path, reason: "write failed: \(String(cString: strerror(errno)))")
            }
            offset += written
        }
    }
}

public struct MetricsFileError: Error, Sendable, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "cannot write metrics file \(path): \(reason)" }
}
