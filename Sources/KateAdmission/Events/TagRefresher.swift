import Foundation
import KateContract
import KateRegistry
import Logging

/// What kate does with a pushed tag: forget what the resolver cached for it, resolve it again (so
/// the next pod is pinned to the pushed digest at once), and, with a ledger, record the digest —
/// every replica's `DigestLedgerReader` then sees the change and drops its own cached answer.
public protocol PushedTagRefreshing: Sendable {
    /// - Returns: the digest the tag resolves to now.
    func refresh(_ push: RegistryPush, deadline: ContinuousClock.Instant) async throws -> String
}

public struct TagRefresher: PushedTagRefreshing {
    public let resolver: Resolver
    /// The credentials the webhook has of its own (the node's docker config): a push names no pod,
    /// so no pod's pull secrets apply.
    public let keyring: Keyring
    public let ledger: DigestLedger?

    public init(resolver: Resolver, keyring: Keyring, ledger: DigestLedger?) {
        self.resolver = resolver
        self.keyring = keyring
        self.ledger = ledger
    }

    /// How long to wait for the tag to catch up with the payload's digest (see `refresh`).
    public var catchUp: Duration = .seconds(2)

    public func refresh(_ push: RegistryPush, deadline: ContinuousClock.Instant) async throws -> String {
        var digest = try await resolveAfresh(push.reference, deadline: deadline)
        // distribution 2.8 sends the manifest-push event from inside the manifest PUT, before it
        // moves the tag (found by scripts/registry-events/verify-receiver.sh): resolved at once,
        // the tag can still name the old digest. When the payload names the pushed digest, ask
        // again briefly until the tag names it; after `catchUp` the registry's answer stands.
        let giveUp = min(deadline, .now + catchUp)
        var pause = Duration.milliseconds(20)
        while let expected = push.digest, digest != expected, ContinuousClock.now + pause < giveUp {
            try await Task.sleep(for: pause)
            pause = min(pause * 2, .milliseconds(250))
            digest = try await resolveAfresh(push.reference, deadline: deadline)
        }
        if let ledger {
            try await ledger.record(reference: LedgerKey.reference(push.reference), digest: digest)
        }
        return digest
    }

    private func resolveAfresh(_ reference: ImageReference, deadline: ContinuousClock.Instant) async throws -> String {
        resolver.invalidate(reference)
        return try await resolver.resolve(reference, keyring: keyring, deadline: deadline).digest
    }
}

/// The other half of the ledger's fan-out: when a tag's newest digest in the ledger changes (another
/// replica recorded a push), this replica drops what its resolver cached for the tag, unless that
/// already is the ledger's digest (the replica that recorded it). Give it to `DigestLedgerReader`.
public struct LedgerCacheInvalidation: Sendable {
    public let resolver: Resolver
    private let logger: Logger

    public init(resolver: Resolver, logger: Logger) {
        self.resolver = resolver
        self.logger = logger
    }

    public func tagChanged(reference text: String, newestDigest: String?) {
        guard let reference = try? ImageReference.parse(text), reference.digest == nil else { return }
        if let newestDigest, resolver.cached(reference)?.digest == newestDigest { return }
        resolver.invalidate(reference)
        logger.debug("ledger: \(text) moved to \(newestDigest ?? "nothing"); cached answer dropped")
    }
}
