import Foundation
import KateNet
import Logging
import Synchronization

// bench-net: the server side and the handshake driver for scripts/bench-net.sh.
//   bench-net serve [--port 0] [--ca-out PATH]
//       HTTPS server (self-signed ECDSA P-256) with GET /healthz and POST /mutate, which decodes the
//       AdmissionReview JSON and answers allowed:true. Prints "listening on 127.0.0.1:PORT"; stops on SIGTERM.
//   bench-net handshakes --port PORT --ca PATH [--seconds 5] [--concurrency 4]
//       Full TLS handshakes per second: a new connection (and GET /healthz) per request.

let arguments = Array(CommandLine.arguments.dropFirst())

func option(_ name: String, default value: String) -> String {
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return value }
    return arguments[index + 1]
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("bench-net: \(message)\n".utf8))
    exit(2)
}

let logger: Logger = {
    var logger = Logger(label: "bench-net")
    logger.logLevel = .warning
    return logger
}()

/// POST /mutate as a webhook does it: decode the AdmissionReview (JSONDecoder, as the admission
/// module does; the whole 10 KB document is parsed), answer allowed:true with its uid.
struct MutateResponder: HTTPResponder {
    struct Review: Decodable {
        struct Request: Decodable {
            let uid: String
            let namespace: String?
            let operation: String
        }
        let apiVersion: String
        let kind: String
        let request: Request
    }

    func respond(to request: HTTPRequest, context: RequestContext) async -> HTTPResponse {
        guard let review = try? JSONDecoder().decode(Review.self, from: Data(request.body)) else {
            return .text(400, "body is not an AdmissionReview")
        }
        let answer = #"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"\#(review.request.uid)","allowed":true}}"#
        return .json(200, Array(answer.utf8))
    }
}

func serve() async throws {
    let signals = ShutdownSignals()
    let selfSigned = try SelfSignedServing(dnsNames: ["localhost"])
    let caOut = option("--ca-out", default: "./bench-net-ca.pem")
    try Data(selfSigned.authority.certificatePEM.utf8).write(to: URL(fileURLWithPath: caOut))
    var router = Router()
    router.add("GET", "/healthz") { _, _ in .text(200, "ok") }
    router.add("POST", "/mutate", MutateResponder())
    let configuration = HTTPServerConfiguration(host: "127.0.0.1", port: Int(option("--port", default: "0")) ?? 0)
    let server = HTTPServer(configuration: configuration, tls: try selfSigned.makeContext(logger: logger), responder: router, logger: logger)
    let port = try await server.start()
    // Unbuffered: the script reads this line from a pipe to learn the port.
    FileHandle.standardOutput.write(Data("listening on 127.0.0.1:\(port)\n".utf8))
    await withTaskGroup(of: Void.self) { group in
        group.addTask { await server.run() }
        _ = await signals.wait()
        await server.shutdown(gracePeriod: .seconds(2))
    }
}

func handshakes() async throws {
    guard let port = Int(option("--port", default: "")) else { fail("handshakes needs --port") }
    let ca = option("--ca", default: "./bench-net-ca.pem")
    let seconds = Int(option("--seconds", default: "5")) ?? 5
    let concurrency = Int(option("--concurrency", default: "4")) ?? 4
    // No idle pool: every request opens a new TCP connection and runs a full handshake.
    let client = HTTPClient(
        configuration: .init(tls: .init(useSystemTrustStore: false, additionalTrustRoots: [.file(ca)]), maxIdleConnectionsPerHost: 0),
        logger: logger)
    let end = ContinuousClock.now + .seconds(seconds)
    let started = ContinuousClock.now
    let counts = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
        for _ in 0..<concurrency {
            group.addTask {
                var ok = 0, failed = 0
                while ContinuousClock.now < end {
                    do {
                        let response = try await client.execute(.init(url: "https://127.0.0.1:\(port)/healthz"), deadline: .now + .seconds(5))
                        if response.status == 200 { ok += 1 } else { failed += 1 }
                    } catch {
                        failed += 1
                    }
                }
                return (ok, failed)
            }
        }
        return try await group.reduce((0, 0)) { ($0.0 + $1.0, $0.1 + $1.1) }
    }
    let elapsed = (ContinuousClock.now - started)
    let rate = Double(counts.0) / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    print(String(format: "handshakes: %.0f/s (%d ok, %d failed, %d concurrent, new TLS connection per request)", rate, counts.0, counts.1, concurrency))
}

switch arguments.first {
case "serve": try await serve()
case "handshakes": try await handshakes()
default: fail("usage: bench-net serve [--port N] [--ca-out PATH] | bench-net handshakes --port N --ca PATH [--seconds S] [--concurrency C]")
}
