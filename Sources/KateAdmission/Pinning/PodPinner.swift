import Foundation
import KateContract
import KateNet
import KateKube
import KateRegistry
import Logging

/// The heart of the mutating webhook: decides which containers to pin, resolves their tags in
/// parallel within the deadline, and turns the digests into a JSON Patch that applies to
/// `request.object` exactly as the apiserver sent it.
///
/// Dry runs (`dryRun: true`) get the same answer as real requests. Resolving is a read against
/// the registry, and the resolver's cache only remembers what the registry said; the one state
/// that would change later answers — the owner-revision memory — is not written for a dry run,
/// so the webhook can honestly declare `sideEffects: None`.
public final class PodPinner: Sendable {
    public let configuration: AdmissionConfiguration
    private let resolver: any DigestResolving
    private let keyrings: any PodKeyringProviding
    public let memory: RevisionMemory
    private let namespaceOptOut: (any NamespaceOptOutChecking)?
    /// The platform-coverage gate (Cluster/PlatformGate.swift); nil: off.
    private let platformGate: PlatformGate?
    /// The cooldown (Cluster/CooldownGate.swift); nil: off.
    private let cooldownGate: CooldownGate?
    /// Parsed references by spelling: the same few images arrive in every review, and parsing
    /// one costs more than the rest of a cached review's pinning logic.
    private let references = ExpiringCache<String, ImageReference>(capacity: 4096, timeToLive: .seconds(3600))

    public init(
        configuration: AdmissionConfiguration, resolver: any DigestResolving, keyrings: any PodKeyringProviding,
        memory: RevisionMemory = RevisionMemory(), namespaceOptOut: (any NamespaceOptOutChecking)? = nil, platformGate: PlatformGate? = nil,
        cooldownGate: CooldownGate? = nil
    ) {
        self.platformGate = platformGate
        self.cooldownGate = cooldownGate
        self.configuration = configuration
        self.resolver = resolver
        self.keyrings = keyrings
        self.memory = memory
        self.namespaceOptOut = namespaceOptOut
    }

    public func pin(_ request: AdmissionRequest, deadline: ContinuousClock.Instant, now: Date = Date(), logger: Logger) async -> PinReport {
        let started = ContinuousClock.now
        func nothing(_ outcome: AdmissionOutcome, _ note: String, warnings: [String] = []) -> PinReport {
            PinReport(response: .allow(request.uid, warnings: warnings), outcome: outcome, images: [], pinnedImages: 0, failures: [], note: note)
        }
        guard request.isPod else { return nothing(.skipped, "kind \(request.kind.kind) is not a Pod") }
        guard let pod = request.object else {
            return nothing(.skipped, request.podDecodingProblem.map { "pod not readable: \($0)" } ?? "no object (\(request.operation))")
        }
        let namespace = request.namespace ?? pod.metadata.namespace ?? ""
        if let reason = configuration.policy.podSkipReason(namespace: namespace, pod: pod) { return nothing(.skipped, reason) }
        let slots = PinTargets.slots(for: request)
        if slots.isEmpty { return nothing(.unchanged, "no container to pin in \(request.operation)") }
        if let namespaceOptOut, await namespaceOptOut.isOptedOut(namespace: namespace, logger: logger) {
            return nothing(.skipped, "namespace label \(KateAnnotations.skip)=true")
        }

        let selection = select(slots)
        if selection.candidates.isEmpty {
            let onlyPolicy = selection.policySkipped > 0 && selection.alreadyPinned == 0
            return nothing(
                onlyPolicy ? .skipped : .unchanged, onlyPolicy ? "images excluded by policy" : "nothing to pin", warnings: selection.warnings)
        }
        let (results, credentials, gateWarnings) = await resolve(
            selection.candidates.map(\.reference), for: request, pod: pod, namespace: namespace, deadline: deadline, now: now, logger: logger)
        return assemble(
            request: request, pod: pod, namespace: namespace, candidates: selection.candidates, results: results,
            credentials: credentials, warnings: selection.warnings + gateWarnings, now: now, budget: deadline - started)
    }

    private struct Selection {
        var candidates: [(slot: ContainerSlot, reference: ImageReference)] = []
        var warnings: [String] = []
        var policySkipped = 0
        var alreadyPinned = 0
    }

    /// Which containers need a digest: not pinned already, not excluded, parseable.
    private func select(_ slots: [ContainerSlot]) -> Selection {
        var selection = Selection()
        for slot in slots {
            let reference: ImageReference
            switch parse(slot.image) {
            case .success(let parsed): reference = parsed
            case .failure(let why):
                selection.warnings.append(WarningText.compose(image: slot.image, "not a valid image reference (\(why.reason)); left as is"))
                continue
            }
            if reference.isPinned {
                selection.alreadyPinned += 1
            } else if configuration.policy.imageSkipReason(reference) != nil {
                selection.policySkipped += 1
            } else {
                selection.candidates.append((slot, reference))
            }
        }
        return selection
    }

    /// The owner revision's memory first, then the registry for the rest, all tags at once.
    private func resolve(
        _ references: [ImageReference], for request: AdmissionRequest, pod: Pod, namespace: String, deadline: ContinuousClock.Instant,
        now: Date, logger: Logger
    ) async -> ([ImageReference: Result<DigestResolution, ResolutionFailure>], PodKeyring?, [String]) {
        let started = ContinuousClock.now
        var unique: [ImageReference] = []
        for reference in references where !unique.contains(reference) { unique.append(reference) }
        var results: [ImageReference: Result<DigestResolution, ResolutionFailure>] = [:]
        // Credentials may take at most half of what is left, so the registry gets the rest.
        let keyringDeadline = started + (deadline - started) / 2
        let revision = RevisionMemory.revision(of: pod, namespace: namespace)
        if let revision {
            // A remembered digest the registry no longer has (dangling) is dropped and re-resolved.
            let remembered = await memory.usableDigests(for: unique, in: revision, credentials: { [keyrings] in
                await keyrings.keyring(for: pod, namespace: namespace, deadline: keyringDeadline, logger: logger).keyring
            }, deadline: deadline)
            for (reference, entry) in remembered {
                results[reference] = .success(DigestResolution(digest: entry.digest, resolvedAt: entry.resolvedAt, source: .revision))
            }
        }
        let outstanding = unique.filter { results[$0] == nil }
        guard !outstanding.isEmpty else { return (results, nil, []) }

        let credentials = await keyrings.keyring(for: pod, namespace: namespace, deadline: keyringDeadline, logger: logger)
        var fresh = await ParallelResolution.resolveAll(
            outstanding, resolver: resolver, keyring: credentials.keyring, deadline: deadline,
            staleIfError: configuration.staleIfError, budget: deadline - started)
        var gateWarnings: [String] = []
        // The cooldown first: it may choose an older digest, which the platform gate then checks.
        if let cooldownGate {
            gateWarnings += await cooldownGate.apply(to: &fresh, namespace: namespace, now: now, record: !request.dryRun, logger: logger)
        }
        if let platformGate {
            gateWarnings += await PlatformGateStep.apply(
                platformGate, to: &fresh, pod: pod, keyring: credentials.keyring, deadline: deadline, record: !request.dryRun, logger: logger)
        }
        // A bare pod (no owner revision) has nothing from the memory to merge: take the map as is.
        if results.isEmpty, revision == nil { return (fresh, credentials, gateWarnings) }
        for (reference, result) in fresh {
            results[reference] = result
            // A dry run must leave no trace that changes later answers (sideEffects: None).
            if case .success(let resolution) = result, let revision, !request.dryRun {
                memory.remember(.init(digest: resolution.digest, resolvedAt: resolution.resolvedAt), for: reference, in: revision)
            }
        }
        return (results, credentials, gateWarnings)
    }

    private func assemble(
        request: AdmissionRequest, pod: Pod, namespace: String, candidates: [(slot: ContainerSlot, reference: ImageReference)],
        results: [ImageReference: Result<DigestResolution, ResolutionFailure>], credentials: PodKeyring?,
        warnings initialWarnings: [String], now: Date, budget: Duration
    ) -> PinReport {
        var warnings = initialWarnings
        var operations: [PatchOperation] = []
        var originals: [String: String] = [:]
        var failures: [ResolutionFailure] = []
        var images: [ImageOutcome] = []
        var warnedImages = Set<String>()

        for (slot, reference) in candidates {
            let result = results[reference] ?? .failure(.deadlineReached(image: reference.original, budget: budget))
            switch result {
            case .success(let resolution):
                let pinned = reference.pinned(to: resolution.digest)
                images.append(ImageOutcome(container: slot.key, image: pinned, source: resolution.source))
                if configuration.mode == .warn {
                    warnings.append(WarningText.compose(image: slot.image, "would pin to \(Digest.short(resolution.digest)) (mode warn)"))
                } else {
                    operations.append(.replace(slot.imagePath, .string(pinned)))
                    originals[slot.key] = slot.image
                }
                if resolution.source == .stale, warnedImages.insert(slot.image).inserted {
                    let seconds = now.timeIntervalSince(resolution.resolvedAt)
                    let age = seconds < 1 ? "<1s" : GoDuration.humanize(.seconds(seconds))
                    warnings.append(WarningText.compose(image: slot.image, "pinned last known digest from \(age) ago: registry unreachable"))
                }
            case .failure(var failure):
                // The registry lists the credentials it tried; only kate knows which named ones were missing.
                if failure.kind.isCredentialProblem, let problems = credentials?.problems, !problems.isEmpty {
                    failure.detail += "; also: " + problems.joined(separator: "; ")
                }
                images.append(ImageOutcome(container: slot.key, image: slot.image, failure: failure.reason))
                if warnedImages.insert(slot.image).inserted {
                    failures.append(failure)
                    warnings.append(WarningText.compose(image: slot.image, "not pinned: \(failure.reason)"))
                }
            }
        }

        // Warn mode only reports: it never denies, whatever the failure mode says.
        if configuration.failureMode == .deny, configuration.mode == .pin, !failures.isEmpty {
            return PinReport(
                response: denial(request: request, namespace: namespace, failures: failures),
                outcome: .denied, images: images, pinnedImages: 0, failures: failures, note: nil)
        }
        if !operations.isEmpty {
            operations += annotationOperations(pod: pod, originals: originals, now: now)
        }
        let outcome: AdmissionOutcome = !failures.isEmpty ? .failedOpen : (operations.isEmpty ? .unchanged : .pinned)
        let response = AdmissionResponse(uid: request.uid, patch: operations, warnings: warnings)
        return PinReport(
            response: response, outcome: outcome, images: images, pinnedImages: originals.count, failures: failures, note: nil)
    }

    /// `kate.dev/original-images` merged with any value already on the pod (an ephemeral
    /// container added later joins the ones pinned at CREATE) and `kate.dev/resolved-at`.
    /// `add` on an existing member replaces it, so these ops apply whether or not the keys exist;
    /// only a missing `annotations` map needs the whole map added instead.
    private func annotationOperations(pod: Pod, originals: [String: String], now: Date) -> [PatchOperation] {
        let existing = pod.metadata.annotations
        let json = OriginalImages.merging(originals, into: existing?[KateAnnotations.originalImages])
        let stamp = UTCTimestamp.string(from: now)
        guard existing != nil else {
            return [.add("/metadata/annotations", .object([KateAnnotations.originalImages: json, KateAnnotations.resolvedAt: stamp]))]
        }
        return [
            .add(JSONPointer.path(["metadata", "annotations", KateAnnotations.originalImages]), .string(json)),
            .add(JSONPointer.path(["metadata", "annotations", KateAnnotations.resolvedAt]), .string(stamp)),
        ]
    }

    /// `--failure-mode deny`: 503 when every failure is the registry being slow or down (the
    /// same request may succeed on retry; controllers retry on their own), 403 when the user
    /// must fix something (wrong tag, missing credentials).
    private func denial(request: AdmissionRequest, namespace: String, failures: [ResolutionFailure]) -> AdmissionResponse {
        let transient = failures.allSatisfy(\.isTransient)
        let list = failures.map { "\($0.image): \($0.detail)" }.joined(separator: "; ")
        var message = "kate could not pin pod \(request.podDisplayName) in namespace \(namespace) to image digests (--failure-mode deny): \(list)"
        if message.count > 1024 { message = String(message.prefix(1023)) + "…" }
        return .deny(
            request.uid, code: transient ? 503 : 403, reason: transient ? "ServiceUnavailable" : "Forbidden", message: message)
    }

    /// The reference, or why it is invalid (the warning names the offending part).
    private func parse(_ image: String) -> Result<ImageReference, ReferenceProblem> {
        if let cached = references.value(for: image) { return .success(cached) }
        let reference: ImageReference
        do {
            reference = try ImageReference.parse(image)
        } catch {
            return .failure(ReferenceProblem(error))
        }
        references.set(reference, for: image)
        return .success(reference)
    }
}

/// Why an image string was not parsed: `ImageReferenceError`'s one-phrase reason ("tag longer than
/// 128 characters"), the form warnings and denials quote.
struct ReferenceProblem: Error {
    let reason: String

    init(_ error: any Error) {
        reason = (error as? ImageReferenceError)?.reason ?? "\(error)"
    }
}
