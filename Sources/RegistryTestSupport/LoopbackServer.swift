import Foundation
import KateNet
import Logging

/// An `HTTPServer` on 127.0.0.1:<ephemeral>, running in a background task until `stop()`.
final class LoopbackServer: Sendable {
    let port: Int
    private let server: HTTPServer
    private let runner: Task<Void, Never>

    init(port: Int = 0, responder: any HTTPResponder, tls: TLSServerContext?, logger: Logger) async throws {
        let configuration = HTTPServerConfiguration(host: "127.0.0.1", port: port, gracePeriod: .milliseconds(200))
        let server = HTTPServer(configuration: configuration, tls: tls, responder: responder, logger: logger)
        self.port = try await server.start()
        self.server = server
        self.runner = Task { await server.run() }
    }

    func stop() async {
        await server.shutdown(gracePeriod: .milliseconds(200))
        await runner.value
    }
}

/// A logger for test servers: quiet unless KATE_TEST_LOG is set.
func testLogger(_ label: String) -> Logger {
    var logger = Logger(label: label)
    logger.logLevel = ProcessInfo.processInfo.environment["KATE_TEST_LOG"] == nil ? .critical : .debug
    return logger
}

