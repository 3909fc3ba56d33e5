import Metrics
import MetricsTestKit
import Testing
@testable import KateNet

@Suite("HTTP server metrics")
struct ServerMetricsTests {
    @Test("requests by route and code (unknown paths as \"other\"), latency timer, open connections")
    func metrics() async throws {
        let metrics = TestMetrics()
        try await withMetricsFactory(metrics) {
            try await NetHTTPTestServer.with(.plain) { server in
                let connection = try await server.connect()
                for _ in 0..<3 { #expect(try await connection.get("/healthz").status == 200) }
                #expect(try await connection.get("/wp-admin/setup.php").status == 404)
                #expect(try await connection.get("/another/probe").status == 404)
                await connection.close()

                let bad = try await server.connect()
                try await bad.send("GET /healthz HTTP/1.1\r\nNo colon\r\n\r\n")
                #expect(try await bad.readResponse().status == 400)
            }
        }
        #expect(try metrics.expectCounter("kate_http_requests_total", [("path", "/healthz"), ("code", "200")]).totalValue == 3)
        #expect(try metrics.expectCounter("kate_http_requests_total", [("path", "other"), ("code", "404")]).totalValue == 2)
        #expect(try metrics.expectCounter("kate_http_requests_total", [("path", "other"), ("code", "400")]).totalValue == 1)
        #expect(throws: (any Error).self, "probed paths do not become label values") {
            try metrics.expectCounter("kate_http_requests_total", [("path", "/wp-admin/setup.php"), ("code", "404")])
        }
        let timer = try metrics.expectTimer("kate_http_request_duration_seconds", [("path", "/healthz")])
        #expect(timer.values.count == 3)
        let gauge = try metrics.expectGauge("kate_http_open_connections")
        #expect(gauge.values.contains(1))
        #expect(gauge.lastValue == 0, "every connection was counted out again")
    }
}
