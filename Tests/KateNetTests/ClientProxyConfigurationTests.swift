import Testing
@testable import KateNet

@Suite("Proxy configuration (HTTPS_PROXY / HTTP_PROXY / NO_PROXY)")
struct ClientProxyConfigurationTests {
    @Test("NO_PROXY matching", arguments: [
        // (NO_PROXY, host, port, bypass?)
        ("*", "anything.example", 443, true),
        ("example.com", "example.com", 443, true),
        ("example.com", "registry.example.com", 443, true),
        ("example.com", "notexample.com", 443, false),
        (".example.com", "registry.example.com", 443, true),
        (".example.com", "example.com", 443, false),
        ("*.example.com", "a.example.com", 443, true),
        ("registry.local:5000", "registry.local", 5000, true),
        ("registry.local:5000", "registry.local", 443, false),
        ("10.0.0.0/8", "10.1.2.3", 443, true),
        ("10.0.0.0/8", "11.1.2.3", 443, false),
        ("192.168.1.10", "192.168.1.10", 80, true),
        ("::1", "::1", 443, true),
        ("[::1]:8443", "::1", 8443, true),
        ("[::1]:8443", "::1", 443, false),
        ("foo.com, bar.com", "x.bar.com", 443, true),
        ("", "example.com", 443, false),
        ("EXAMPLE.com", "Registry.Example.COM", 443, true),
    ])
    func noProxy(list: String, host: String, port: Int, bypass: Bool) {
        let configuration = ProxyConfiguration.fromEnvironment(["HTTPS_PROXY": "http://proxy:3128", "NO_PROXY": list])
        #expect(configuration.bypasses(host: host, port: port) == bypass)
    }

    @Test("variables: upper case wins, lower case is read, empty counts as unset, CGI ignores HTTP_PROXY")
    func environment() {
        #expect(ProxyConfiguration.fromEnvironment(["HTTPS_PROXY": "http://a:1", "https_proxy": "http://b:1"]).httpsProxy == "http://a:1")
        #expect(ProxyConfiguration.fromEnvironment(["https_proxy": "http://b:1"]).httpsProxy == "http://b:1")
        #expect(ProxyConfiguration.fromEnvironment(["HTTPS_PROXY": "", "https_proxy": "http://b:1"]).httpsProxy == "http://b:1")
        #expect(ProxyConfiguration.fromEnvironment(["http_proxy": "http://c:1", "no_proxy": "x,y"]) == .init(httpProxy: "http://c:1", noProxy: ["x", "y"]))
        #expect(ProxyConfiguration.fromEnvironment(["HTTP_PROXY": "http://evil:1", "REQUEST_METHOD": "GET"]).httpProxy == nil)
        #expect(ProxyConfiguration.fromEnvironment([:]) == .init())
    }

    @Test("which proxy a URL uses")
    func selection() throws {
        let configuration = ProxyConfiguration(httpProxy: "http://hp:1", httpsProxy: "http://sp:1", noProxy: ["internal"])
        #expect(configuration.proxy(for: try ClientURL(parsing: "https://ghcr.io/v2/")) == "http://sp:1")
        #expect(configuration.proxy(for: try ClientURL(parsing: "http://ghcr.io/v2/")) == "http://hp:1")
        #expect(configuration.proxy(for: try ClientURL(parsing: "https://registry.internal/v2/")) == nil)
    }

    @Test("an https:// proxy is refused with a reason, not bypassed")
    func httpsProxyRefused() async {
        let client = HTTPClient(configuration: .init(proxy: .init(httpsProxy: "https://proxy.example:3128")))
        await #expect(throws: HTTPClientError.proxyFailure(
            proxy: "https://proxy.example:3128",
            message: "only http:// proxies are supported (https to the target still goes through a CONNECT tunnel)")) {
            _ = try await client.execute(.init(url: "https://registry.example/v2/"), deadline: .now + .seconds(5))
        }
    }

    @Test("URL parsing", arguments: [
        ("https://ghcr.io/v2/org/app/manifests/1.0", "https", "ghcr.io", 443, "/v2/org/app/manifests/1.0", "ghcr.io"),
        ("http://localhost:5000", "http", "localhost", 5000, "/", "localhost:5000"),
        ("https://[::1]:8443/healthz?x=1#frag", "https", "::1", 8443, "/healthz?x=1", "[::1]:8443"),
        ("HTTPS://Example.COM?q", "https", "example.com", 443, "/?q", "example.com"),
        ("http://u:p@10.0.0.1:80/", "http", "10.0.0.1", 80, "/", "10.0.0.1"),
    ])
    func url(text: String, scheme: String, host: String, port: Int, target: String, hostHeader: String) throws {
        let url = try ClientURL(parsing: text)
        #expect(url.scheme == scheme && url.host == host && url.port == port && url.target == target && url.hostHeader == hostHeader)
    }
}
