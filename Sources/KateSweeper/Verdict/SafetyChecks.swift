import KateRegistry
import KateKube
import Logging

/// Which safety checks a sweep runs (both on by default; `--no-dangling-check`, `--no-platform-gate`).
public struct SafetyOptions: Sendable, Equatable {
    /// HEAD every pinned and running digest by digest; 404 → `dangling`.
    public var danglingCheck: Bool
    /// Before rolling onto a digest no pod of the tag uses yet, compare its index's platforms
    /// with the nodes' → `platform-gap` and no roll.
    public var platformGate: Bool

    public init(danglingCheck: Bool = true, platformGate: Bool = true) {
        self.danglingCheck = danglingCheck
        self.platformGate = platformGate
    }
}

/// The dangling-pin sentinel and the platform-coverage gate, run on a sweep's verdicts before
/// planning: they turn stale verdicts into `dangling` (acted on) or `platform-gap` (held).
struct SafetyChecks: Sendable {
    let resolver: any TagResolving
    let nodes: (any NodePlatformReading)?
    let options: SafetyOptions
    let concurrency: Int
    let timeout: Duration
    let logger: Logger

    /// One HEAD per distinct repository + digest.
    struct DigestLocation: Hashable, Sendable {
        var repository: String
        var digest: String
    }

    /// What the checks could not settle, for the report's warnings.
    struct Outcome: Sendable {
        var warnings: [String] = []
        var digestsChecked = 0
    }

    /// `findings[i]` belongs to `keys[i]` (the order `Sweeper.judge` builds them in).
    func review(_ findings: inout [Finding], keys: [ResolveKey?], table: ResolutionTable) async -> Outcome {
        var outcome = Outcome()
        if options.danglingCheck { await markDangling(&findings, keys: keys, table: table, outcome: &outcome) }
        if options.platformGate, let nodes { await markPlatformGaps(&findings, keys: keys, table: table, nodes: nodes, outcome: &outcome) }
        return outcome
    }

    // MARK: dangling-pin sentinel

    private func markDangling(_ findings: inout [Finding], keys: [ResolveKey?], table: ResolutionTable, outcome: inout Outcome) async {
        // Each distinct repository + digest once, with the credentials of the first key that names it.
        // A digest the tag resolved to in this sweep was just named by the registry: present, no HEAD.
        var checks: [DigestLocation: ResolutionTable.Lookup] = [:]
        var order: [DigestLocation] = []
        for (finding, key) in zip(findings, keys) {
            guard let key, let lookup = table.lookups[key] else { continue }
            let current = table[key]?.currentDigests ?? []
            for digest in [finding.target.pinnedDigest, finding.target.running.digest].compactMap({ $0 }) where !current.contains(digest) {
                let location = DigestLocation(repository: key.image.canonicalName, digest: digest)
                if checks[location] == nil {
                    checks[location] = lookup
                    order.append(location)
                }
            }
        }
        guard !order.isEmpty else { return }
        let resolver = self.resolver, timeout = self.timeout, lookups = checks
        let answers = await BoundedParallel.map(order, concurrency: concurrency) { location -> DigestPresence in
            guard let lookup = lookups[location] else { return .unknown("no lookup") }
            return await resolver.presence(
                of: lookup.reference, digest: location.digest, keyring: lookup.keyring, deadline: ContinuousClock.now.advanced(by: timeout))
        }
        outcome.digestsChecked = order.count
        var presence: [DigestLocation: DigestPresence] = [:]
        for (location, answer) in zip(order, answers) {
            presence[location] = answer
            if case .unknown(let why) = answer {
                outcome.warnings.append("could not check whether \(location.repository)@\(ImageDigest.short(location.digest)) is still in the registry: \(why)")
            }
        }
        for index in findings.indices {
            guard let key = keys[index] else { continue }
            let target = findings[index].target
            func missing(_ digest: String?) -> DigestPresence? {
                guard let digest, let answer = presence[DigestLocation(repository: key.image.canonicalName, digest: digest)], answer.isMissing else { return nil }
                return answer
            }
            // The pin is what a reschedule pulls. An unpinned pod's restart pulls the tag, so its
            // running digest being gone breaks nothing: said in the reason, not a verdict.
            guard let dangling = target.pinnedDigest, missing(dangling) != nil else {
                if target.pinnedDigest == nil, let running = target.running.digest, missing(running) != nil, findings[index].judgement.verdict.isStale {
                    let reason = findings[index].judgement.reason.map { $0 + "; " } ?? ""
                    findings[index].judgement.reason = reason + "the running \(ImageDigest.short(running)) is gone from the registry (404)"
                }
                continue
            }
            let display = target.tracking.image?.display ?? key.image.display
            var judgement = findings[index].judgement
            judgement.danglingDigest = dangling
            judgement.verdict = .dangling
            if let current = judgement.currentDigest {
                judgement.reason = "\(ImageDigest.short(dangling)) is gone from the registry (404); a reschedule would fail to pull. "
                    + "A restart pins \(display) = \(ImageDigest.short(current))"
            } else {
                let why = table[key].flatMap { state -> String? in if case .failed(let message) = state { return message }; return nil }
                judgement.reason = "\(ImageDigest.short(dangling)) is gone from the registry (404) and \(display) does not resolve"
                    + (why.map { " (\($0))" } ?? "") + "; nothing to roll onto"
            }
            findings[index].judgement = judgement
        }
    }

    // MARK: platform-coverage gate

    private func markPlatformGaps(
        _ findings: inout [Finding], keys: [ResolveKey?], table: ResolutionTable, nodes: any NodePlatformReading, outcome: inout Outcome
    ) async {
        // A roll moves pods onto the tag's index digest: gate only digests no pod of the key uses yet.
        var used: [ResolveKey: Set<String>] = [:]
        var rolling: Set<ResolveKey> = []
        for (finding, key) in zip(findings, keys) {
            guard let key else { continue }
            used[key, default: []].formUnion([finding.target.pinnedDigest, finding.target.running.digest].compactMap { $0 })
            if finding.judgement.verdict.isStale, finding.judgement.currentDigest != nil { rolling.insert(key) }
        }
        var candidates: [DigestLocation: ResolutionTable.Lookup] = [:]
        var keyTarget: [ResolveKey: DigestLocation] = [:]
        for key in rolling {
            guard let index = table[key]?.indexDigest, !(used[key]?.contains(index) ?? false), let lookup = table.lookups[key] else { continue }
            let location = DigestLocation(repository: key.image.canonicalName, digest: index)
            keyTarget[key] = location
            if candidates[location] == nil { candidates[location] = lookup }
        }
        guard !candidates.isEmpty else { return }
        let platformsInUse: Set<Platform>
        do {
            platformsInUse = try await nodes.nodePlatforms()
        } catch {
            outcome.warnings.append("platform-coverage gate skipped: cannot list nodes (\(error)); grant `nodes: list` or pass --no-platform-gate")
            return
        }
        guard !platformsInUse.isEmpty else { return }
        let order = candidates.keys.sorted { ($0.repository, $0.digest) < ($1.repository, $1.digest) }
        let resolver = self.resolver, timeout = self.timeout, lookups = candidates
        let lists = await BoundedParallel.map(order, concurrency: concurrency) { location -> Result<PlatformList, GateFailure> in
            guard let lookup = lookups[location] else { return .failure(GateFailure(message: "no lookup")) }
            do {
                let list = try await resolver.platformList(
                    of: lookup.reference, digest: location.digest, keyring: lookup.keyring, deadline: ContinuousClock.now.advanced(by: timeout))
                return .success(list)
            } catch {
                return .failure(GateFailure(message: "\(error)"))
            }
        }
        var offeredBy: [DigestLocation: Set<Platform>] = [:]
        for (location, list) in zip(order, lists) {
            switch list {
            case .success(.index(let offered)):
                offeredBy[location] = offered
            case .success(.singlePlatform):
                break
            case .failure(let failure):
                outcome.warnings.append("platform-coverage gate could not read \(location.repository)@\(ImageDigest.short(location.digest)): \(failure.message); rolled without the check")
            }
        }
        guard !offeredBy.isEmpty else { return }
        let nodePairs = platformsInUse.map { (os: $0.os, architecture: $0.architecture) }
        // A pod whose nodeSelector/affinity picks a platform needs that one; the others every node's.
        var required: [PlatformSelection?: Set<Platform>] = [nil: platformsInUse]
        for index in findings.indices {
            guard let key = keys[index], let location = keyTarget[key], let offered = offeredBy[location], findings[index].judgement.verdict.isStale else { continue }
            let selection = findings[index].target.pod.platformSelection
            let needed = required[selection] ?? {
                let set = Set((selection?.required(nodes: nodePairs) ?? nodePairs).map { Platform(os: $0.os, architecture: $0.architecture) })
                required[selection] = set
                return set
            }()
            let missing = Platform.missing(needed, from: offered)
            guard !missing.isEmpty else { continue }
            let display = findings[index].target.tracking.image?.display ?? key.image.display
            let names = missing.map(\.description).joined(separator: ", ")
            var judgement = findings[index].judgement
            let dangling = judgement.danglingDigest.map { "; the pinned \(ImageDigest.short($0)) is gone from the registry, fix the tag" } ?? ""
            let whose = selection == nil ? "that nodes run" : "that the pod's nodeSelector/affinity picks"
            judgement.reason = "\(display) moved to \(ImageDigest.short(location.digest)), which lacks \(names) \(whose); not rolled, checked again next sweep\(dangling)"
            judgement.verdict = .platformGap
            findings[index].judgement = judgement
            logger.debug("platform gap", metadata: ["image": "\(display)", "missing": "\(names)"])
        }
    }

    struct GateFailure: Error, Sendable {
        var message: String
    }
}
