import Foundation
import KateAdmission
import KateNet
import KateRegistry
import Testing

extension Reliability {
    /// The whole webhook path — TLS, HTTP, AdmissionReview decoding, pinning, the real resolver —
    /// while the registry hangs. The apiserver's `?timeout=` is what kate must beat; `/healthz`
    /// must keep answering meanwhile (a kubelet probe failing here restarts kate mid-incident).
    @Suite("Webhook over TLS while the registry hangs", .timeLimit(.minutes(1)))
    struct WebhookUnderRegistryFaultTests {
        @Test("POST /mutate?timeout=2s answers allowed-with-warnings before the timeout; /healthz stays fast")
        func mutateBeatsApiserverTimeout() async throws {
            let registry = try await FaultyRegistry.start()
            registry.setSteady(.delay(.seconds(10)))
            let ca = try CertificateAuthority.generate(commonName: "reliability CA")
            let leaf = try ca.issue(commonName: "kate.kate.svc", dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"])
            let tls = try TLSServerContext(certificateChain: .pem(leaf.certificatePEM), privateKey: .pem(leaf.privateKeyPEM), logger: Reliability.quietLogger)
            let rig = AdmissionRig(plainHTTP: [registry.host])
            let pinner = PodPinner(configuration: rig.configuration, resolver: rig.resolver, keyrings: StaticKeyringProvider(node: .empty))
            var router = Router()
            router.add("POST", "/mutate", MutatingWebhook(pinner: pinner, logger: Reliability.quietLogger))
            router.add("GET", "/healthz", ClosureResponder { _, _ in .text(200, "ok") })
            let server = HTTPServer(
                configuration: HTTPServerConfiguration(host: "127.0.0.1", port: 0), tls: tls, responder: router, logger: Reliability.quietLogger)
            let port = try await server.start()
            let runTask = Task { await server.run() }
            let client = HTTPClient(configuration: .init(tls: TLSClientConfiguration(useSystemTrustStore: false, additionalTrustRoots: [.pem(ca.certificatePEM)])))

            let review = try Reviews.podCreate(registry: registry.host)
            let started = ContinuousClock.now
            async let mutate = client.execute(
                HTTPClientRequest(method: "POST", url: "https://localhost:\(port)/mutate?timeout=2s", headers: ["Content-Type": "application/json"], body: review),
                deadline: started + .seconds(5))
            // While the review waits on the registry, probes are answered at once.
            for _ in 0..<5 {
                let probeStarted = ContinuousClock.now
                let health = try await client.execute(HTTPClientRequest(url: "https://localhost:\(port)/healthz"), deadline: .now + .seconds(2))
                #expect(health.status == 200)
                #expect(ContinuousClock.now - probeStarted < .milliseconds(500), "a probe waited \(ContinuousClock.now - probeStarted)")
            }
            let response = try await mutate
            let elapsed = ContinuousClock.now - started
            // timeout 2s minus the default 1s margin: kate's own deadline is 1 s after it read the request.
            #expect(elapsed < .seconds(1) + Reliability.deadlineSlack, "answered after \(elapsed); the apiserver gives up at 2 s")
            #expect(response.status == 200)
            let body = try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
            let answer = try #require(body["response"] as? [String: Any])
            #expect(answer["allowed"] as? Bool == true)
            #expect(answer["patch"] == nil, "nothing could be resolved, so nothing may be patched")
            let warnings = answer["warnings"] as? [String] ?? []
            #expect(warnings.count == Reviews.unpinnedImages, "\(warnings)")

            await client.shutdown()
            await server.shutdown(gracePeriod: .milliseconds(200))
            await runTask.value
            await rig.shutdown()
            await registry.stop()
        }
    }
}
