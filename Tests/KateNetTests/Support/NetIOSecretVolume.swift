#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// A directory laid out the way kubelet publishes a Secret volume, rotated the way kubelet rotates it:
/// `tls.crt -> ..data/tls.crt`, `..data -> ..<version>/`; an update writes a new `..<version>/` and
/// atomically renames a fresh `..data` symlink over the old one.
struct NetIOSecretVolume {
    let directory: NetIOTemporaryDirectory
    private(set) var version = 0

    var certificatePath: String { directory.path + "/tls.crt" }
    var keyPath: String { directory.path + "/tls.key" }

    init(certificatePEM: String, keyPEM: String) throws {
        directory = try NetIOTemporaryDirectory()
        try publish(certificatePEM: certificatePEM, keyPEM: keyPEM)
        for name in ["tls.crt", "tls.key"] {
            guard symlink("..data/\(name)", directory.path + "/" + name) == 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        }
    }

    /// Writes a new version directory and swaps `..data` to it in one rename(2).
    mutating func publish(certificatePEM: String, keyPEM: String) throws {
        version += 1
        let versionName = "..2026_11_26_00_00_\(version)"
        try FileManager.default.createDirectory(atPath: directory.path + "/" + versionName, withIntermediateDirectories: false)
        _ = try directory.write(versionName + "/tls.crt", certificatePEM)
        _ = try directory.write(versionName + "/tls.key", keyPEM)
        let temporary = directory.path + "/..data_tmp"
        guard symlink(versionName, temporary) == 0, rename(temporary, directory.path + "/..data") == 0 else {
            throw POSIXError(.init(rawValue: errno) ?? .EIO)
        }
    }

    func remove() { directory.remove() }
}
