import Foundation
import ArgumentParser
import KateAdmission
import KateContract
import KateKube
import KateNet
import KateRegistry
import Logging

/// `kate webhook`'s admission flags. Each flag also reads `KATE_<FLAG_NAME>`; repeatable flags
/// take a comma-separated list from the environment.
struct AdmissionOptions: ParsableArguments {
    @OptionGroup var registry: RegistryOptions
    @OptionGroup var kube: KubeOptions

    @Option(help: "pin: patch images to digests; warn: resolve and report in warnings only. [env: KATE_MODE]")
    var mode: String = Environment.string("KATE_MODE") ?? "pin"

    @Option(help: "open: leave an unresolvable image unpinned with a warning; deny: reject the pod. [env: KATE_FAILURE_MODE]")
    var failureMode: String = Environment.string("KATE_FAILURE_MODE") ?? "open"

    @Option(help: "Namespace to leave alone (repeatable). Default: kube-system. kate's own namespace is always skipped. [env: KATE_SKIP_NAMESPACE]")
    var skipNamespace: [String] = Environment.list("KATE_SKIP_NAMESPACE") ?? []

    @Option(help: "kate's own namespace, always skipped so kate never gates its own pods. [env: KATE_OWN_NAMESPACE, POD_NAMESPACE]")
    var ownNamespace: String = Environment.string("KATE_OWN_NAMESPACE") ?? Environment.string("POD_NAMESPACE") ?? ""

    @Option(help: "Only pin images matching this glob (repeatable; * spans slashes). [env: KATE_INCLUDE_IMAGE]")
    var includeImage: [String] = Environment.list("KATE_INCLUDE_IMAGE") ?? []

    @Option(help: "Never pin images matching this glob (repeatable). [env: KATE_EXCLUDE_IMAGE]")
    var excludeImage: [String] = Environment.list("KATE_EXCLUDE_IMAGE") ?? []

    @Option(help: "Never pin images from this registry host, e.g. localhost:5000 (repeatable). [env: KATE_EXCLUDE_REGISTRY]")
    var excludeRegistry: [String] = Environment.list("KATE_EXCLUDE_REGISTRY") ?? []

    @Option(help: "Deadline when the apiserver sends no ?timeout= (Go duration). [env: KATE_DEFAULT_TIMEOUT]")
    var defaultTimeout: String = Environment.string("KATE_DEFAULT_TIMEOUT") ?? "10s"

    @Option(help: "Time kept free before the apiserver's timeout for the answer's trip back. [env: KATE_TIMEOUT_MARGIN]")
    var timeoutMargin: String = Environment.string("KATE_TIMEOUT_MARGIN") ?? "1s"

    @Option(help: "When the registry fails, pin the last known digest up to this old; 0 disables. [env: KATE_STALE_IF_ERROR]")
    var staleIfError: String = Environment.string("KATE_STALE_IF_ERROR") ?? "24h"

    @Option(help: "Also pin pods whose controller is this operator kind, KIND or KIND.GROUP, e.g. Cluster.postgresql.cnpg.io (repeatable). By default pods of controllers other than ReplicaSet, StatefulSet, DaemonSet and Job are left unpinned; a namespace opts in with the label kate.dev/pin-operator-owned=true. [env: KATE_PIN_OPERATOR_OWNED]")
    var pinOperatorOwned: [String] = Environment.list("KATE_PIN_OPERATOR_OWNED") ?? []

    @Option(help: "Mutation-loop breaker: the CREATE of one pod name (namespace + name) within --loop-breaker-window that stops pinning its owner; 0 turns the breaker off. [env: KATE_LOOP_BREAKER_CREATES]")
    var loopBreakerCreates: Int = Environment.int("KATE_LOOP_BREAKER_CREATES") ?? 3

    @Option(help: "Mutation-loop breaker: the window in which --loop-breaker-creates CREATEs of one pod name trip it. [env: KATE_LOOP_BREAKER_WINDOW]")
    var loopBreakerWindow: String = Environment.string("KATE_LOOP_BREAKER_WINDOW") ?? "10m"

    @Option(help: "Mutation-loop breaker: how long the owner's pods are admitted unpinned after a trip. [env: KATE_LOOP_BREAKER_COOL_OFF]")
    var loopBreakerCoolOff: String = Environment.string("KATE_LOOP_BREAKER_COOL_OFF") ?? "30m"

    @Option(help: "Mutation-loop breaker, second signature: pinned CREATEs of one owner's pods within --loop-breaker-window before kate asks how many replicas it wants (its scale subresource), and the slack over --loop-breaker-owner-factor × replicas; more than that stops pinning the owner. 0 turns this signature off. [env: KATE_LOOP_BREAKER_OWNER_FLOOR]")
    var loopBreakerOwnerFloor: Int = Environment.int("KATE_LOOP_BREAKER_OWNER_FLOOR") ?? 10

    @Option(help: "Mutation-loop breaker, second signature: CREATEs per replica one window explains (2: a scale-up plus one recreation of each pod, as a node drain does). [env: KATE_LOOP_BREAKER_OWNER_FACTOR]")
    var loopBreakerOwnerFactor: Int = Environment.int("KATE_LOOP_BREAKER_OWNER_FACTOR") ?? 2

    @Option(help: "Read pods' imagePullSecrets and ServiceAccounts through the API: auto (when a cluster config exists), on, off. [env: KATE_PULL_SECRETS]")
    var pullSecrets: String = Environment.string("KATE_PULL_SECRETS") ?? "auto"

    @Flag(inversion: .prefixedNo, help: "Before reusing an owner revision's remembered digest, HEAD it by digest (cached 10m); a 404 (dangling) re-resolves the tag. [env: KATE_DANGLING_CHECK]")
    var danglingCheck: Bool = Environment.bool("KATE_DANGLING_CHECK") ?? true

    @Flag(inversion: .prefixedNo, help: "Before pinning a tag to a digest not seen for it, check its index lists every platform the nodes (or the pod's nodeSelector) use; needs nodes: list. [env: KATE_PLATFORM_GATE]")
    var platformGate: Bool = Environment.bool("KATE_PLATFORM_GATE") ?? true

    func validate() throws {
        guard AdmissionConfiguration.Mode(rawValue: mode) != nil else { throw ValidationError("--mode must be pin or warn (got \(mode))") }
        guard AdmissionConfiguration.FailureMode(rawValue: failureMode) != nil else {
            throw ValidationError("--failure-mode must be open or deny (got \(failureMode))")
        }
        guard ["auto", "on", "off"].contains(pullSecrets) else { throw ValidationError("--pull-secrets must be auto, on or off (got \(pullSecrets))") }
        for (flag, value) in [("--default-timeout", defaultTimeout), ("--timeout-margin", timeoutMargin), ("--stale-if-error", staleIfError)] {
            guard GoDuration.parse(value) != nil else { throw ValidationError("\(flag) must be a duration like 10s, 500ms or 24h (got \(value))") }
        }
        for value in pinOperatorOwned where OwnerKindPattern(value) == nil {
            throw ValidationError("--pin-operator-owned must be KIND or KIND.GROUP, e.g. Cluster.postgresql.cnpg.io (got \(value))")
        }
        guard loopBreakerCreates == 0 || loopBreakerCreates >= 2 else {
            throw ValidationError("--loop-breaker-creates must be 0 (off) or at least 2 (got \(loopBreakerCreates))")
        }
        guard loopBreakerOwnerFloor >= 0 else {
            throw ValidationError("--loop-breaker-owner-floor must be 0 (off) or more (got \(loopBreakerOwnerFloor))")
        }
        guard loopBreakerOwnerFactor >= 1 else {
            throw ValidationError("--loop-breaker-owner-factor must be at least 1 (got \(loopBreakerOwnerFactor))")
        }
        for (flag, value) in [("--loop-breaker-window", loopBreakerWindow), ("--loop-breaker-cool-off", loopBreakerCoolOff)] {
            guard let duration = GoDuration.parse(value), duration > .zero else {
                throw ValidationError("\(flag) must be a positive duration like 10m or 1h (got \(value))")
            }
        }
        guard let timeout = GoDuration.parse(defaultTimeout), timeout > .zero, timeout <= .seconds(30) else {
            throw ValidationError("--default-timeout must be between 0 and 30s, the apiserver's maximum (got \(defaultTimeout))")
        }
    }

    func makeConfiguration() throws -> AdmissionConfiguration {
        var skip = Set(skipNamespace.isEmpty ? ["kube-system"] : skipNamespace)
        if !ownNamespace.isEmpty { skip.insert(ownNamespace) }
        let stale = GoDuration.parse(staleIfError) ?? .zero
        return AdmissionConfiguration(
            mode: AdmissionConfiguration.Mode(rawValue: mode) ?? .pin,
            failureMode: AdmissionConfiguration.FailureMode(rawValue: failureMode) ?? .open,
            policy: AdmissionPolicy(
                skipNamespaces: skip, includeImages: includeImage.map(GlobPattern.init), excludeImages: excludeImage.map(GlobPattern.init),
                excludeRegistries: Set(excludeRegistry), pinOperatorOwnedKinds: pinOperatorOwned.compactMap(OwnerKindPattern.init)),
            defaultTimeout: GoDuration.parse(defaultTimeout) ?? .seconds(10),
            timeoutMargin: GoDuration.parse(timeoutMargin) ?? .seconds(1),
            staleIfError: stale > .zero ? stale : nil,
            loopBreaker: loopBreakerCreates == 0 ? nil : MutationLoopBreaker.Settings(
                creates: loopBreakerCreates, window: GoDuration.parse(loopBreakerWindow) ?? .seconds(600),
                coolOff: GoDuration.parse(loopBreakerCoolOff) ?? .seconds(1800), ownerFloor: loopBreakerOwnerFloor,
                ownerFactor: loopBreakerOwnerFactor))
    }

    /// What the webhook, the registry-events receiver and the ledger share: the one resolver (a push
    /// must drop *its* cache), the node's keyring, and the API client when pull secrets are read.
    struct Installed {
        let resolver: Resolver
        let keyring: Keyring
        let client: KubeClient?
        /// One namespace-label cache answers the opt-out, the operator opt-in and the cooldown label.
        let namespaceLabels: NamespaceLabelOptOut?
    }

    /// Builds what `install` and the ledger share.
    func prepare(logger: Logger) throws -> Installed {
        let resolver = try registry.makeResolver(logger: logger)
        let client = try makeKubeClient(logger: logger)
        return Installed(
            resolver: resolver, keyring: try registry.loadKeyring(), client: client, namespaceLabels: client.map { NamespaceLabelOptOut(client: $0) })
    }

    /// Adds `POST /mutate` and `POST /validate` to the webhook's router.
    /// - Parameter cooldown: the cooldown gate (needs the ledger, built from `installed`); nil: off.
    func install(_ installed: Installed, into router: inout Router, cooldown: CooldownGate?, logger: Logger) throws {
        let configuration = try makeConfiguration()
        let (resolver, client, namespaceLabels) = (installed.resolver, installed.client, installed.namespaceLabels)
        let node = (keyring: installed.keyring, label: registry.dockerConfigLabel)
        let keyrings: any PodKeyringProviding =
            client.map { PullSecretKeychain(reader: $0, node: node.keyring, nodeLabel: node.label) } ?? StaticKeyringProvider(node: node.keyring, label: node.label)
        let gate = platformGate ? client.map { PlatformGate(lister: resolver, nodes: NodePlatforms(client: $0)) } : nil
        let pinner = PodPinner(
            configuration: configuration, resolver: resolver, keyrings: keyrings,
            memory: RevisionMemory(presence: danglingCheck ? resolver : nil),
            namespaceOptOut: namespaceLabels, platformGate: gate, cooldownGate: cooldown)
        // The breaker's second signature reads owners' replica counts through the API; without it only the first applies.
        let ownerReplicas = configuration.loopBreaker.flatMap { settings in
            settings.ownerFloor > 0 ? client.map { OwnerReplicas(reader: KubeOwnerReplicaReader(client: $0), peakWindow: settings.window) } : nil
        }
        let guards = PinningGuards(
            policy: configuration.policy, namespaces: namespaceLabels, breaker: configuration.loopBreaker.map { MutationLoopBreaker(settings: $0) },
            events: client, reportingInstance: Self.reportingInstance, replicas: ownerReplicas)
        let metrics = AdmissionMetrics()
        router.add("POST", "/mutate", MutatingWebhook(pinner: pinner, metrics: metrics, logger: logger, guards: guards))
        router.add("POST", "/validate", ValidatingWebhook(policy: configuration.policy, metrics: metrics, logger: logger))
        logger.info("admission ready", metadata: [
            "mode": "\(configuration.mode.rawValue)", "failureMode": "\(configuration.failureMode.rawValue)",
            "skipNamespaces": "\(configuration.policy.skipNamespaces.sorted().joined(separator: ","))",
            "pullSecrets": "\(client == nil ? "off" : "on")",
            "danglingCheck": "\(danglingCheck)", "platformGate": "\(gate != nil)",
            "cooldown": "\(cooldown.map { GoDuration.humanize($0.cooldown) } ?? "off")",
            "pinOperatorOwned": "\(configuration.policy.pinOperatorOwnedKinds.map(\.description).joined(separator: ","))",
            "loopBreaker": "\(configuration.loopBreaker.map { "\($0.creates) creates/\(loopBreakerWindow), cool-off \(loopBreakerCoolOff)" } ?? "off")",
            "loopBreakerOwnerRate": "\(ownerReplicas == nil ? "off" : "more than \(loopBreakerOwnerFactor) × replicas + \(loopBreakerOwnerFloor) creates/\(loopBreakerWindow)")",
        ])
    }

    /// Which webhook replica reported an Event: the Pod name in a cluster (POD_NAME from the downward API, else the
    /// HOSTNAME the kubelet sets to it), the host name elsewhere.
    static var reportingInstance: String {
        let environment = ProcessInfo.processInfo.environment
        return environment["POD_NAME"] ?? environment["HOSTNAME"] ?? ProcessInfo.processInfo.hostName
    }

    /// The API client for pull secrets, or nil when `--pull-secrets` is off (or auto without a cluster).
    private func makeKubeClient(logger: Logger) throws -> KubeClient? {
        switch pullSecrets {
        case "off":
            return nil
        case "on":
            return try kube.makeClient(fieldManager: "kate-webhook", logger: logger)
        default:
            guard try kube.hasClusterConfiguration else {
                logger.info("no cluster configuration found: pull secrets are not read (--pull-secrets auto)")
                return nil
            }
            return try kube.makeClient(fieldManager: "kate-webhook", logger: logger)
        }
    }
}
