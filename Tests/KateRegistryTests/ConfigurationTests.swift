import Foundation
import KateRegistry
import RegistryTestSupport
import Testing

@Suite("Resolver configuration")
struct ConfigurationTests {
    @Test("the example --registry-config file parses")
    func exampleFile() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../examples/registry-config.json").standardized.path
        let file = try RegistryConfigFile.load(path: path)
        #expect(file.globalConcurrency == 128)
        #expect(file.registries["registry.corp.example:5000"]?.caFile == "/etc/kate/registry-ca/ca.crt")
        #expect(file.registries["docker.io"]?.mirrors == ["mirror.corp.example"])
        #expect(file.registries["registry.kind.local:5001"]?.plainHTTP == true)
        #expect(file.registries["legacy.lab.example"]?.insecureSkipVerify == true)
        var configuration = ResolverConfiguration()
        configuration.apply(file)
        #expect(configuration.globalConcurrency == 128)
    }

    @Test(
        "bad files say where the problem is",
        arguments: [
            (#"{"registries": {"r": {"plainHTTP": "yes"}}}"#, "registries.r.plainHTTP: expected Bool"),
            (#"{"registries": {"r": {"plainHTTP": true, "insecureSkipVerify": true}}}"#, "exclusive"),
            ("{", "invalid JSON"),
        ])
    func badFile(_ json: String, _ phrase: String) {
        #expect { try RegistryConfigFile.parse(json: Array(json.utf8), path: "/etc/kate/registries.json") } throws: { error in
            "\(error)".contains(phrase) && "\(error)".contains("/etc/kate/registries.json")
        }
    }

    @Test("the per-registry bound holds however many tags are asked for at once")
    func perRegistryBound() async throws {
        try await ScriptedHTTPServer.withRunning({ _, _, _ in
            .init(status: 200, headers: [("Docker-Content-Digest", "sha256:" + String(repeating: "1", count: 64))], delay: .milliseconds(30))
        }) { server in
            let resolver = makeResolver(scripted: [server.host]) { $0.perRegistryConcurrency = 3 }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<12 {
                    group.addTask { _ = try await resolver.resolve(ImageReference.parse("\(server.host)/app:t\(i)"), deadline: soon()) }
                }
                try await group.waitForAll()
            }
            #expect(server.requests.count == 12)
            #expect(server.peakConcurrentRequests == 3)
        }
    }

    @Test("the delay proxy adds its delay to every round trip")
    func delayProxy() async throws {
        let digest = "sha256:" + String(repeating: "2", count: 64)
        try await ScriptedHTTPServer.withRunning({ _, _, _ in .init(status: 200, headers: [("Docker-Content-Digest", digest)]) }) { server in
            let proxy = try DelayProxy.start(upstreamPort: server.port, delay: .milliseconds(100))
            let resolver = makeResolver(scripted: [proxy.host])
            let started = ContinuousClock.now
            let a = try? await resolver.resolve(ImageReference.parse("\(proxy.host)/app:a"), deadline: soon())
            let b = try? await resolver.resolve(ImageReference.parse("\(proxy.host)/app:b"), deadline: soon())
            let elapsed = ContinuousClock.now - started
            await proxy.stop()
            #expect(a?.digest == digest && b?.digest == digest)
            // Two HEADs on one kept-alive connection: two delayed round trips (the connect is not delayed).
            #expect(elapsed >= .milliseconds(200))
            #expect(elapsed < .seconds(10))
            #expect(proxy.connections == 1)
        }
    }
}

@Suite("Test registry setup")
struct TestRegistrySetupTests {
    @Test("a missing docker-registry binary fails with the install hint instead of skipping")
    func missingBinary() async {
        await #expect {
            try await TestRegistry.start(.plainHTTP, binary: "/nonexistent/docker-registry")
        } throws: { error in
            "\(error)".contains("scripts/install-deps.sh") && "\(error)".contains("/nonexistent/docker-registry")
        }
    }
}
