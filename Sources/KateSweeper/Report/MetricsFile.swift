import Foundation

/// Writes the Prometheus text for node-exporter's textfile collector: to a temporary file in the same
/// directory, then rename(2), so a scrape never reads half a file.
public enum MetricsFile {
    public static func write(_ bytes: [UInt8], to path: String) throws {
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
}

public struct MetricsFileError: Error, Sendable, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "cannot write metrics file \(path): \(reason)" }
}
