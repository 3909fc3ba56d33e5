import Foundation
import KateAdmission
import KateContract
import KateKube
import KateNet
import KateRegistry
import KubeTestServer
import Logging
import RegistryTestSupport

/// What `kate webhook --ledger --cooldown 72h` adds to a cached review (issue #17): CPU per review
/// and reviews/s of the real `/mutate` responder (decode, pin, encode, metrics, the chart's JSON
/// log handler at `info` writing to /dev/null), in this process, for three webhooks that share one
/// resolver (its cache warm from a real docker-registry) and differ only in the gate:
///   off     no cooldown gate (`--ledger` off);
///   mature  the gate on a watch-backed `DigestLedgerReader` whose histories saw every resolved
///           digest 30 days ago: one copy lookup per image, adopt;
///   kept    the same on a ledger where the resolved digest is 1 h old and an older one 30 days:
///           the gate pins the older digest and warns ("kept …", the hold path).
/// The ledgers (two namespaces of the loopback test API server) are filled through the API while
/// the readers watch, as a replica's copy is; each gate's `LedgerRecorder` runs too (it writes
/// nothing here: every resolved digest is in the copy). The variants take turns, round after round,
/// so whatever else the two cores do falls on all three alike; the medians are printed.
enum CooldownCost {
    static let cooldown: Duration = .seconds(72 * 3600)
    static let shapes = [1, 20]
    static let reviewNamespace = "shop"

    struct Variant {
        let label: String
        let webhook: MutatingWebhook
        /// The digest each image must be pinned to, in container order.
        let expected: [String]
        /// Whether every image must carry a "kept" warning.
        let kept: Bool
    }

    struct Sample {
        var microsPerReview: Double
        var reviewsPerSecond: Double
    }

    /// - Parameters:
    ///   - rounds: how many times each variant is measured per shape (BENCH_COOLDOWN_ROUNDS).
    ///   - slice: seconds one variant runs per round (BENCH_COOLDOWN_SLICE).
    static func run(server: KubeTestServer, rounds: Int, slice: Double, logger: Logger) async throws {
        let registry = try await TestRegistry.start(.plainHTTP)
        let tags = (0..<(shapes.max() ?? 0)).map { "v\($0)" }
        let pushed = try await registry.pushMany(repository: "bench/app", tags: tags)
        let images = tags.map { "\(registry.host)/bench/app:\($0)" }
        let resolved = tags.map { pushed[$0] ?? "" }
        // Never resolved: the mature digest the "kept" ledger offers instead of the 1 h old one.
        let older = tags.map { "sha256:" + SHA256.hex(SHA256.hash(Array("older \($0)".utf8))) }
        let keys = try images.map { LedgerKey.reference(try ImageReference.parse($0)) }

        _ = try server.addNamespace(reviewNamespace)
        // One API client, as the webhook has: namespace labels, both ledger copies, the recorders.
        let client = KubeClient(configuration: server.clientConfiguration, logger: logger)
        let namespaceLabels = NamespaceLabelOptOut(client: client)
        let mature = Ledger(client: client, namespace: "kate-mature", logger: logger)
        let young = Ledger(client: client, namespace: "kate-young", logger: logger)
        let now = Date()
        for (index, key) in keys.enumerated() {
            _ = try await mature.writer.record(reference: key, digest: resolved[index], at: now - 30 * 86_400)
            _ = try await young.writer.record(reference: key, digest: older[index], at: now - 30 * 86_400)
            _ = try await young.writer.record(reference: key, digest: resolved[index], at: now - 3600)
        }
        try await mature.waitUntilCopied(keys.indices.map { (keys[$0], [resolved[$0]]) })
        try await young.waitUntilCopied(keys.indices.map { (keys[$0], [resolved[$0], older[$0]]) })

        let resolver = Resolver(configuration: ResolverConfiguration(registries: [registry.host: RegistrySettings(plainHTTP: true)]), logger: logger)
        let devNull = open("/dev/null", O_WRONLY)
        let sink = FileDescriptorLogSink(descriptor: devNull)
        let chartLogger = Logger(label: "kate.webhook") { KateLogHandler(label: $0, format: .json, level: .info, sink: sink) }
        func webhook(_ gate: CooldownGate?) -> MutatingWebhook {
            let pinner = PodPinner(
                configuration: AdmissionConfiguration(), resolver: resolver, keyrings: StaticKeyringProvider(node: .empty),
                namespaceOptOut: namespaceLabels, cooldownGate: gate)
            return MutatingWebhook(pinner: pinner, logger: chartLogger)
        }
        func gate(_ ledger: Ledger) -> CooldownGate {
            CooldownGate(cooldown: cooldown, copy: ledger.reader, recorder: ledger.recorder, namespaces: namespaceLabels)
        }
        let variants = [
            Variant(label: "off", webhook: webhook(nil), expected: resolved, kept: false),
            Variant(label: "mature", webhook: webhook(gate(mature)), expected: resolved, kept: false),
            Variant(label: "kept", webhook: webhook(gate(young)), expected: older, kept: true),
        ]

        print("\ncooldown gate on a cached review (--cooldown 72h, watch-backed ledger copy), /mutate responder in process, chart logging (json/info → /dev/null)")
        let load = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
        print("variants take turns: \(rounds) rounds × \(String(format: "%.1f", slice)) s each; medians, all rounds in brackets; load average \(load)")
        let versionBefore = server.resourceVersion
        for shape in shapes {
            let request = HTTPRequest(
                method: "POST", target: "/mutate?timeout=10s", headers: ["Content-Type": "application/json"],
                body: try review(images: Array(images.prefix(shape))))
            for variant in variants {
                try await check(variant, request: request, images: shape)
            }
            var samples = [[Sample]](repeating: [], count: variants.count)
            for _ in 0..<rounds {
                for (index, variant) in variants.enumerated() {
                    let sample = await measure(variant.webhook, request: request, for: slice)
                    samples[index].append(sample)
                }
            }
            let base = median(samples[0].map(\.microsPerReview))
            for (index, variant) in variants.enumerated() {
                let micros = median(samples[index].map(\.microsPerReview))
                let rate = median(samples[index].map(\.reviewsPerSecond))
                let all = samples[index].map { String(format: "%.1f", $0.microsPerReview) }.joined(separator: " ")
                let padded = "\(shape) image\(shape == 1 ? " " : "s"), \(variant.label)".padding(toLength: 18, withPad: " ", startingAt: 0)
                print("  " + padded + String(format: "%8.1f µs CPU/review  %7.0f reviews/s  %5.3fx off  [%@]", micros, rate, micros / max(0.001, base), all))
            }
        }

        // The recorders had nothing to note (every resolved digest is in the copies): no API write.
        print("  API writes while measuring: \(server.resourceVersion - versionBefore)")
        await mature.stop()
        await young.stop()
        close(devNull)
        await resolver.shutdown()
        await client.shutdown()
        await registry.stop()
    }

    /// One namespace's ledger as `kate webhook --ledger` keeps it: the writer, the watch-backed
    /// copy (followed by a task) and the recorder (running).
    struct Ledger {
        let writer: DigestLedger
        let reader: DigestLedgerReader
        let recorder: LedgerRecorder
        let tasks: [Task<Void, Never>]

        init(client: KubeClient, namespace: String, logger: Logger) {
            writer = DigestLedger(client: client, namespace: namespace)
            let reader = DigestLedgerReader(client: client, namespace: namespace)
            let recorder = LedgerRecorder(ledger: writer, logger: logger)
            self.reader = reader
            self.recorder = recorder
            tasks = [Task { _ = try? await reader.run() }, Task { await recorder.run() }]
        }

        /// Waits (at most 10 s) until the copy, through its watch, holds every listed digest of every tag.
        func waitUntilCopied(_ expected: [(key: String, digests: [String])]) async throws {
            let deadline = ContinuousClock.now + .seconds(10)
            while !(reader.isSynced && expected.allSatisfy({ entry in entry.digests.allSatisfy { reader.firstSeen(reference: entry.key, digest: $0) != nil } })) {
                guard ContinuousClock.now < deadline else {
                    throw LedgerFailure(description: "ledger copy of \(reader.namespace) incomplete after 10 s (\(reader.count) tags)")
                }
                try await Task.sleep(for: .milliseconds(5))
            }
        }

        func stop() async {
            for task in tasks { task.cancel() }
            for task in tasks { await task.value }
        }
    }

    struct LedgerFailure: Error, CustomStringConvertible { let description: String }

    /// Fails unless `variant` answers with every image pinned to its expected digest (and, for the
    /// kept path, a "kept" warning per image): a benchmark of a gate that did nothing measures nothing.
    static func check(_ variant: Variant, request: HTTPRequest, images: Int) async throws {
        let response = await variant.webhook.respond(to: request, context: context())
        let text = String(decoding: response.body, as: UTF8.self)
        guard response.status == 200, let object = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any],
            let answer = object["response"] as? [String: Any], let patch = (answer["patch"] as? String).flatMap({ Data(base64Encoded: $0) }),
            let operations = try? JSONSerialization.jsonObject(with: patch) as? [[String: Any]]
        else { throw LedgerFailure(description: "\(variant.label): review not pinned: HTTP \(response.status) \(text.prefix(600))") }
        let pinned = operations.compactMap { $0["value"] as? String }.filter { $0.contains("@sha256:") }
        let expected = variant.expected.prefix(images)
        guard pinned.count == images, zip(pinned, expected).allSatisfy({ $0.hasSuffix("@" + $1) }) else {
            throw LedgerFailure(description: "\(variant.label): pinned \(pinned), expected digests \(Array(expected))")
        }
        let kept = ((answer["warnings"] as? [String]) ?? []).filter { $0.contains("kept sha256:") }.count
        guard kept == (variant.kept ? images : 0) else {
            throw LedgerFailure(description: "\(variant.label): \(kept) kept warnings for \(images) images: \(answer["warnings"] ?? "none")")
        }
    }

    static func context() -> RequestContext {
        RequestContext(remoteAddress: "127.0.0.1:40000", deadline: .now + .seconds(3600), logger: Logger(label: "bench"))
    }

    /// Process CPU per review and reviews/s of `webhook` answering `request` for `seconds`.
    static func measure(_ webhook: MutatingWebhook, request: HTTPRequest, for slice: Double) async -> Sample {
        let context = context()
        let started = ContinuousClock.now
        let before = cpuSeconds()
        var count = 0
        while ContinuousClock.now - started < .milliseconds(Int(slice * 1000)) {
            for _ in 0..<50 { _ = await webhook.respond(to: request, context: context) }
            count += 50
        }
        let wall = seconds(ContinuousClock.now - started)
        return Sample(microsPerReview: (cpuSeconds() - before) * 1e6 / Double(count), reviewsPerSecond: Double(count) / wall)
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    /// A bare pod (no owner: every image goes through the resolver's cache, not the owner-revision
    /// memory) in namespace `shop`, one container per image, as the apiserver sends it for a CREATE.
    static func review(images: [String]) throws -> [UInt8] {
        let containers: [[String: Any]] = images.enumerated().map { index, image in
            [
                "name": index == 0 ? "app" : "sidecar-\(index)", "image": image, "imagePullPolicy": "IfNotPresent",
                "ports": [["containerPort": 8080, "protocol": "TCP"]],
                "resources": ["requests": ["cpu": "100m", "memory": "128Mi"]],
            ]
        }
        let pod: [String: Any] = [
            "kind": "Pod", "apiVersion": "v1",
            "metadata": ["generateName": "web-", "namespace": reviewNamespace, "labels": ["app.kubernetes.io/name": "web"]],
            "spec": ["containers": containers, "restartPolicy": "Always", "serviceAccountName": "default"],
        ]
        let review: [String: Any] = [
            "kind": "AdmissionReview", "apiVersion": "admission.k8s.io/v1",
            "request": [
                "uid": "4b1f3c2e-8d7a-4e59-9c1b-2f6a0d3e7b91",
                "kind": ["group": "", "version": "v1", "kind": "Pod"], "resource": ["group": "", "version": "v1", "resource": "pods"],
                "namespace": reviewNamespace, "operation": "CREATE",
                "userInfo": ["username": "system:serviceaccount:kube-system:replicaset-controller"],
                "object": pod, "dryRun": false,
            ] as [String: Any],
        ]
        return Array(try JSONSerialization.data(withJSONObject: review))
    }
}
