#if canImport(Glibc)
import Glibc
#endif
import Logging

/// The serving certificate's files and how to tell whether they changed.
///
/// Kubernetes Secret volumes publish files as `tls.crt -> ..data/tls.crt` with `..data -> ..2026_01_01_…`
/// and rotate by swapping the `..data` symlink, so the paths never change: identity is taken from the
/// *resolved* targets (device, inode, mtime, size), which changes on a swap and on an in-place rewrite.
struct CertificateFiles: Sendable {
    struct FileIdentity: Sendable, Equatable {
        var resolvedPath: String
        var device: UInt64
        var inode: UInt64
        var modified: Int64
        var modifiedNanoseconds: Int64
        var size: Int64
    }

    struct Identity: Sendable, Equatable {
        var chain: FileIdentity?
        var key: FileIdentity?
    }

    let chainPath: String
    let keyPath: String

    /// nil unless both the chain and the key come from files (in-memory PEM cannot change).
    init?(chain: PEMSource, key: PEMSource) {
        guard case .file(let chainPath) = chain, case .file(let keyPath) = key else { return nil }
        self.chainPath = chainPath
        self.keyPath = keyPath
    }

    func identity() -> Identity {
        Identity(chain: Self.identify(chainPath), key: Self.identify(keyPath))
    }

    static func identify(_ path: String) -> FileIdentity? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        var info = stat()
        guard stat(resolved, &info) == 0 else { return nil }
        return FileIdentity(
            resolvedPath: String(cString: resolved), device: UInt64(info.st_dev), inode: UInt64(info.st_ino),
            modified: Int64(info.st_mtim.tv_sec), modifiedNanoseconds: Int64(info.st_mtim.tv_nsec), size: Int64(info.st_size))
    }
}

extension TLSServerContext {
    /// Re-reads the certificate and key if their files changed since the last attempt.
    ///
    /// On success new handshakes use the new certificate and open connections keep the old one. A broken
    /// replacement (unreadable, not PEM, key ≠ certificate) keeps the current certificate serving and logs
    /// why at error level; it is retried when the files change again.
    ///
    /// - Returns: whether a new certificate was installed.
    @discardableResult
    public func reloadIfChanged() -> Bool {
        guard let files = CertificateFiles(chain: certificateChain, key: privateKey) else { return false }
        let identity = files.identity()
        let changed = state.withLock { current -> Bool in
            guard identity != current.lastAttempt else { return false }
            current.lastAttempt = identity
            return true
        }
        guard changed else { return false }
        do {
            let (context, subject) = try Self.build(certificateChain, privateKey, clientTrustRoots)
            let (previous, count) = state.withLock { current -> (String, Int) in
                let previous = current.subject
                current.context = context
                current.subject = subject
                current.files = identity
                current.reloads += 1
                return (previous, current.reloads)
            }
            metrics.reloadSuccess.increment()
            logger.info("TLS certificate reloaded", metadata: [
                "tls.certificate": "\(files.chainPath)", "tls.subject": "\(subject)",
                "tls.previous_subject": "\(previous)", "tls.reloads": "\(count)",
            ])
            return true
        } catch {
            metrics.reloadFailure.increment()
            logger.error("TLS certificate changed on disk but cannot be used; still serving the previous certificate", metadata: [
                "tls.certificate": "\(files.chainPath)", "tls.key": "\(files.keyPath)", "error": "\(error)",
            ])
            return false
        }
    }

    /// Polls the certificate files every `interval` and reloads them when they change. Replaces any
    /// earlier watcher; stopped by `stopWatching()` or when the context is released.
    public func startWatching(every interval: Duration) {
        let task = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                guard !Task.isCancelled, let self else { return }
                self.reloadIfChanged()
            }
        }
        watcher.withLock { previous in
            previous?.cancel()
            previous = task
        }
    }

    public func stopWatching() {
        watcher.withLock { $0?.cancel(); $0 = nil }
    }
}
