import ArgumentParser
import Foundation
import KateAdmission
import KateContract
import KateKube
import KateRegistry
import Logging

/// `kate resolve IMAGE…`: what each tag points at now, as the webhook would pin it; `--explain`
/// says step by step how it got there (or why it could not).
struct ResolveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resolve",
        abstract: "Resolve image tags to registry digests (like crane digest); --explain shows every step.",
        discussion: """
            Prints IMAGE<TAB>DIGEST per image (the index digest for multi-arch images, as kubelet pulls it), or \
            with --full-ref NAME@DIGEST. Images are resolved concurrently; output keeps the order given. Exits 1 if \
            any image failed, with one line per failure on stderr: its class (auth, authz, absent, unavailable, \
            ratelimited, bad-reference, timeout) and what to fix.

            --explain prints, per image, the normalized reference, each credential source in order and which of \
            its keys match, the cache state, every request (method, Accept list, Authorization scheme) and answer \
            (status, Docker-Content-Digest, media type, ratelimit-* headers), auth challenges and token requests, \
            the index's platform manifests and the verdict. --as-pod NAMESPACE/POD or --namespace/--service-account \
            resolve with the credentials that pod would get (its imagePullSecrets, then its ServiceAccount's, then \
            the docker config), read through the Kubernetes API.
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var registry: RegistryOptions
    @OptionGroup var kube: KubeOptions

    @Option(help: "text (IMAGE<TAB>DIGEST) or json. [env: KATE_OUTPUT]")
    var output: String = Environment.string("KATE_OUTPUT") ?? "text"

    @Flag(help: "Also list the per-platform manifest digests of multi-arch images. [env: KATE_PLATFORMS]")
    var platforms: Bool = Environment.bool("KATE_PLATFORMS") ?? false

    @Flag(help: "Print how each image was resolved, step by step (with --output json: as a list of steps).")
    var explain = false

    @Flag(help: "Print NAME@DIGEST (the full reference by digest) instead of IMAGE<TAB>DIGEST, like crane digest --full-ref.")
    var fullRef = false

    @Option(help: ArgumentHelp("The digest of this platform's manifest instead of the index's, like crane digest --platform.", valueName: "os/arch[/variant]"))
    var platform: String?

    @Option(help: ArgumentHelp("Resolve with the credentials this pod gets: its imagePullSecrets, its ServiceAccount's, the docker config.", valueName: "namespace/pod"))
    var asPod: String?

    @Option(help: ArgumentHelp("Resolve with the pull secrets of a ServiceAccount in this namespace (with --service-account, default: default).", valueName: "namespace"))
    var namespace: String?

    @Option(help: ArgumentHelp("The ServiceAccount whose imagePullSecrets to use (needs --namespace).", valueName: "name"))
    var serviceAccount: String?

    @Argument(help: "Image references: nginx:1.27, ghcr.io/org/app:v1, registry.local:5000/team/app")
    var images: [String] = []

    func validate() throws {
        guard ["text", "json"].contains(output) else { throw ValidationError("--output must be text or json (got \(output))") }
        guard !images.isEmpty else { throw ValidationError("name at least one image") }
        if let platform, PlatformSpec(platform) == nil {
            throw ValidationError("--platform must be os/arch or os/arch/variant, like linux/arm64/v8 (got \(platform))")
        }
        if let asPod {
            guard Self.splitPod(asPod) != nil else { throw ValidationError("--as-pod must be NAMESPACE/POD (got \(asPod))") }
            guard namespace == nil, serviceAccount == nil else { throw ValidationError("--as-pod already names the namespace and ServiceAccount: drop --namespace/--service-account") }
        }
        if serviceAccount != nil, namespace == nil { throw ValidationError("--service-account needs --namespace") }
    }

    static func splitPod(_ text: String) -> (namespace: String, name: String)? {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
        return (String(parts[0]), String(parts[1]))
    }

    func run() async throws {
        let logger = global.bootstrapLogging(label: "kate.resolve")
        let resolver = try registry.makeResolver(logger: logger)
        let mounted = try registry.loadKeyring()
        let credentials: PodKeyring
        do {
            credentials = try await podCredentials(mounted: mounted, logger: logger)
        } catch {
            await resolver.shutdown()
            throw error
        }
        let results = await resolveAll(resolver: resolver, keyring: credentials.keyring)
        await resolver.shutdown()

        for (image, result) in zip(images, results) {
            if case .failure(let failure) = result.outcome {
                let fix = failure.fix.map { " " + $0 } ?? ""
                FileHandle.standardError.write(Data("\(image): [\(failure.failureClass)] \(failure.message)\(fix)\n".utf8))
            }
        }
        if output == "json" {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            if explain {
                let rows = zip(images, results).map { ExplainRow(image: $0, credentials: credentials, result: $1) }
                print(String(decoding: try encoder.encode(rows), as: UTF8.self))
            } else {
                let rows = results.compactMap { if case .success(let row) = $0.outcome { row } else { nil } }
                print(String(decoding: try encoder.encode(rows), as: UTF8.self))
            }
        } else if explain {
            for (image, result) in zip(images, results) {
                print("explain \(image)")
                for line in credentialLines(credentials) { print(line) }
                for step in result.steps { for line in step.lines { print(line) } }
                print("")
            }
        } else {
            for case .success(let row) in results.map(\.outcome) {
                print(fullRef ? row.fullRef : "\(row.reference)\t\(row.digest)")
            }
        }
        if results.contains(where: { if case .failure = $0.outcome { true } else { false } }) { throw ExitCode(1) }
    }

    /// The credentials to resolve with: the docker config alone, or what the named pod (or
    /// ServiceAccount) gets. The one seam to how kate reads pull secrets through the API: the
    /// keychain the webhook and the sweeper share (`PullSecretKeychain`), so `--as-pod` sees exactly what they would.
    private func podCredentials(mounted: Keyring, logger: Logger) async throws -> PodKeyring {
        let label = registry.dockerConfigLabel
        guard asPod != nil || namespace != nil else { return PodKeyring(keyring: mounted, checked: [label]) }
        let client = try kube.makeClient(fieldManager: "kate-resolve", logger: logger)
        let credentials: PodKeyring
        do {
            let (podNamespace, pod) = try await targetPod(client: client)
            let provider = PullSecretKeychain(reader: client, node: mounted, nodeLabel: label)
            credentials = await provider.keyring(for: pod, namespace: podNamespace, deadline: .now + .seconds(30), logger: logger)
        } catch {
            await client.shutdown()
            throw error
        }
        await client.shutdown()
        return credentials
    }

    /// The pod named by `--as-pod`, read through the API, or a stand-in for `--namespace/--service-account`
    /// (no pull secrets of its own, that ServiceAccount).
    private func targetPod(client: KubeClient) async throws -> (namespace: String, pod: Pod) {
        if let asPod, let (podNamespace, name) = Self.splitPod(asPod) {
            do {
                let pod = try await client.getPod(namespace: podNamespace, name: name)
                return (podNamespace, pod)
            } catch let error as KubeError where error.isNotFound {
                throw CommandFailure("--as-pod \(asPod): no such pod in the cluster (check with kubectl get pod -n \(podNamespace) \(name))")
            } catch {
                throw CommandFailure("--as-pod \(asPod): cannot read the pod (needs get on pods): \(error)")
            }
        }
        let namespace = namespace ?? "default"
        let account = serviceAccount ?? "default"
        let pod = Pod(metadata: ObjectMeta(name: "serviceaccount-\(account)", namespace: namespace), spec: PodSpec(containers: [], serviceAccountName: account))
        return (namespace, pod)
    }

    private func credentialLines(_ credentials: PodKeyring) -> [String] {
        guard asPod != nil || namespace != nil else { return [] }
        let who = asPod.map { "pod \($0)" } ?? "ServiceAccount \(namespace ?? "")/\(serviceAccount ?? "default")"
        var lines = ["  as          \(who): checked " + credentials.checked.joined(separator: ", ")]
        for problem in credentials.problems { lines.append("              (\(problem))") }
        return lines
    }

    struct Failure: Sendable {
        var failureClass: FailureClass
        var message: String
        var fix: String?
    }

    struct Resolution: Sendable {
        var outcome: Outcome
        var steps: [ResolutionStep]
    }

    enum Outcome: Sendable {
        case success(ResolvedRow)
        case failure(Failure)
    }

    private func resolveAll(resolver: Resolver, keyring: Keyring) async -> [Resolution] {
        await withTaskGroup(of: (Int, Resolution).self) { group in
            for (index, image) in images.enumerated() {
                group.addTask {
                    let resolution = await traced(image, resolver: resolver, keyring: keyring)
                    return (index, resolution)
                }
            }
            var resolutions = [Resolution](
                repeating: Resolution(outcome: .failure(Failure(failureClass: .timeout, message: "not resolved")), steps: []), count: images.count)
            for await (index, resolution) in group { resolutions[index] = resolution }
            return resolutions
        }
    }

    /// One image, recorded step by step when `--explain` asks for it (otherwise no recorder is bound
    /// and the resolver records nothing).
    private func traced(_ image: String, resolver: Resolver, keyring: Keyring) async -> Resolution {
        guard explain else {
            let outcome = await resolveOne(image, resolver: resolver, keyring: keyring)
            return Resolution(outcome: outcome, steps: [])
        }
        let recorded = await ResolutionTrace.recording { await resolveOne(image, resolver: resolver, keyring: keyring) }
        let outcome: Outcome
        switch recorded.result {
        case .success(let value): outcome = value
        case .failure(let error): outcome = .failure(Self.failure(error))
        }
        var steps = recorded.steps
        switch outcome {
        case .success(let row):
            steps.append(.verdict(.init(digest: row.platformDigest ?? row.digest, mediaType: row.mediaType, source: row.source)))
        case .failure(let failure):
            steps.append(.verdict(.init(failureClass: failure.failureClass, message: failure.message, fix: failure.fix)))
        }
        return Resolution(outcome: outcome, steps: steps)
    }

    private static func failure(_ error: any Error) -> Failure {
        let fix: String? = switch error {
        case let error as RegistryError: error.fix
        case is ImageReferenceError: "Fix the reference: [registry[:port]/]repository[:tag][@sha256:…], lowercase repository"
        default: nil
        }
        // The transcript prints the fix on a line of its own: the message stops before it.
        var message = "\(error)"
        if let fix, message.hasSuffix(" " + fix) { message = String(message.dropLast(fix.count + 1)) }
        return Failure(failureClass: FailureClass(error), message: message, fix: fix)
    }

    private func resolveOne(_ image: String, resolver: Resolver, keyring: Keyring) async -> Outcome {
        do {
            let reference = try ImageReference.parse(image)
            let resolved = try await resolver.resolve(reference, keyring: keyring, deadline: .now + .seconds(300))
            var children: [String]?
            var manifests: [PlatformManifest]?
            if platforms || platform != nil || (explain && ManifestMediaType.isIndex(resolved.mediaType)) {
                let listed = try await resolver.platformManifests(reference, indexDigest: resolved.digest, keyring: keyring, deadline: .now + .seconds(300))
                manifests = listed
                if platforms { children = Set(listed.map(\.digest)).sorted() }
            }
            var platformDigest: String?
            if let platform, let wanted = PlatformSpec(platform), let manifests, !manifests.isEmpty {
                guard let match = manifests.first(where: { $0.satisfies(wanted) }) else {
                    let offered = manifests.map(\.platform).joined(separator: ", ")
                    return .failure(Failure(
                        failureClass: .absent, message: "\(reference) has no manifest for platform \(wanted) (the index has \(offered))",
                        fix: "Pick one of the platforms listed, or push an image for \(wanted)"))
                }
                platformDigest = match.digest
            }
            let digest = platformDigest ?? resolved.digest
            return .success(ResolvedRow(
                reference: image, name: reference.canonicalName, registry: reference.registry, tag: reference.tag,
                digest: digest, mediaType: resolved.mediaType, platforms: children, fullRef: "\(reference.canonicalName)@\(digest)",
                indexDigest: platformDigest == nil ? nil : resolved.digest, platformDigest: platformDigest, source: Self.source(resolved.source)))
        } catch {
            return .failure(Self.failure(error))
        }
    }

    private static func source(_ source: ResolvedImage.Source) -> String {
        switch source {
        case .registry: "registry"
        case .cache: "cache"
        case .stale: "stale"
        }
    }
}

/// A one-line reason for exit code 1 (ArgumentParser prints it as `Error: …`, without the usage).
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// One line of `--output json`.
struct ResolvedRow: Codable, Sendable {
    let reference: String
    let name: String
    let registry: String
    let tag: String?
    /// The index digest, or with `--platform` that platform's manifest digest.
    let digest: String
    let mediaType: String?
    let platforms: [String]?
    /// `NAME@DIGEST`.
    let fullRef: String
    /// With `--platform`: the index the platform digest was picked from.
    let indexDigest: String?
    let platformDigest: String?
    let source: String?
}

/// One image of `--explain --output json`: the same steps the text transcript shows.
struct ExplainRow: Encodable {
    let reference: String
    let credentialsChecked: [String]
    let credentialProblems: [String]
    let steps: [ResolutionStep]
    let digest: String?
    let fullRef: String?
    let failureClass: FailureClass?
    let error: String?
    let fix: String?

    enum CodingKeys: String, CodingKey {
        case reference, credentialsChecked, credentialProblems, steps, digest, fullRef, failureClass = "class", error, fix
    }

    init(image: String, credentials: PodKeyring, result: ResolveCommand.Resolution) {
        reference = image
        credentialsChecked = credentials.checked
        credentialProblems = credentials.problems
        steps = result.steps
        switch result.outcome {
        case .success(let row):
            digest = row.digest
            fullRef = row.fullRef
            failureClass = nil
            error = nil
            fix = nil
        case .failure(let failure):
            digest = nil
            fullRef = nil
            failureClass = failure.failureClass
            error = failure.message
            fix = failure.fix
        }
    }
}
