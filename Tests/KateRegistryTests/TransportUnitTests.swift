import KateNet
import Logging
import RegistryTestSupport
import Synchronization
import Testing

@testable import KateRegistry

@Suite("Endpoints, URLs and insecure registries")
struct TransportUnitTests {
    @Test("Docker Hub is reached at registry-1.docker.io; mirrors come first; settings pick scheme and trust")
    func endpoints() {
        var configuration = ResolverConfiguration()
        configuration.registries["docker.io"] = RegistrySettings(mirrors: ["mirror.corp:5000"])
        configuration.registries["mirror.corp:5000"] = RegistrySettings(caFile: "/ca.pem")
        configuration.registries["kind.local:5001"] = RegistrySettings(plainHTTP: true)
        let hub = configuration.endpoints(for: "docker.io")
        #expect(hub.map(\.baseURL) == ["https://mirror.corp:5000", "https://registry-1.docker.io"])
        #expect(hub.map(\.isMirror) == [true, false])
        #expect(hub[0].tls.additionalTrustRoots == [.file("/ca.pem")])
        #expect(hub[1].manifestURL(repository: "library/nginx", reference: "1.27") == "https://registry-1.docker.io/v2/library/nginx/manifests/1.27")
        #expect(configuration.endpoints(for: "kind.local:5001").map(\.baseURL) == ["http://kind.local:5001"])
        #expect(configuration.endpoints(for: "[::1]:5000").map(\.baseURL) == ["https://[::1]:5000"])
    }

    @Test("URL parts and redirect resolution", arguments: [
        ("https://r.io/v2/a/manifests/b", "/elsewhere", "https://r.io/elsewhere"),
        ("https://r.io/v2/a/manifests/b", "c", "https://r.io/v2/a/manifests/c"),
        ("https://r.io/v2/x", "//cdn.example/blob?sig=1", "https://cdn.example/blob?sig=1"),
        ("http://[::1]:5000/v2/", "http://other:1/y", "http://other:1/y"),
    ])
    func redirects(_ base: String, _ location: String, _ expected: String) throws {
        let parts = try #require(URLParts(base))
        #expect(parts.resolving(location)?.string == expected)
    }

    @Test("realm and URL edge cases")
    func urlParts() {
        #expect(URLParts("ftp://x/y") == nil)
        #expect(URLParts("https://user@host/") == nil)
        #expect(URLParts("https://R.IO:443?x=1")?.pathAndQuery == "/?x=1")
        #expect(URLParts("http://[::1]:5000/t")?.host == "[::1]")
        #expect(QueryEncoding.encode("repository:a/b:pull,push") == "repository:a/b:pull%2Cpush")
        #expect(QueryEncoding.encode("a b&c=d") == "a%20b%26c%3Dd")
    }

    @Test("insecureSkipVerify talks to an untrusted TLS registry and warns at startup")
    func insecureRegistry() async throws {
        try await TestRegistry.withRunning(.basicAuthTLS(user: "u", password: "p")) { registry in
            let pushed = try await registry.push(repository: "lab/app", tag: "v1")
            let messages = CapturedLogs()
            var logger = Logger(label: "test") { _ in CapturingHandler(sink: messages) }
            logger.logLevel = .info
            var configuration = ResolverConfiguration()
            configuration.registries[registry.host] = RegistrySettings(insecureSkipVerify: true)
            let resolver = Resolver(configuration: configuration, logger: logger)
            let resolved = try await resolver.resolve(ImageReference.parse("\(registry.host)/lab/app:v1"), keyring: registry.keyring(), deadline: soon())
            #expect(resolved.digest == pushed)
            #expect(messages.all.contains { $0.level == .warning && $0.message.contains("verification is DISABLED") && $0.metadata.contains(registry.host) })
        }
    }
}

/// Log lines captured by `CapturingHandler`.
final class CapturedLogs: Sendable {
    struct Line: Sendable {
        let level: Logger.Level
        let message: String
        let metadata: String
    }
    private let lines = Mutex<[Line]>([])
    func append(_ line: Line) { lines.withLock { $0.append(line) } }
    var all: [Line] { lines.withLock { $0 } }
}

struct CapturingHandler: LogHandler {
    let sink: CapturedLogs
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        sink.append(.init(level: event.level, message: "\(event.message)", metadata: "\(event.metadata ?? [:])"))
    }
}
