import KateNet
import Logging
import Synchronization

/// A loopback HTTP server that answers from a script, for the error paths a real registry will
/// not produce on demand: 429 with Retry-After, 500 then 200, HEAD without a digest header, a body
/// that does not match its digest, slow answers. Every request is recorded.
public final class ScriptedHTTPServer: Sendable {
    /// One canned answer; `delay` is waited before answering (a slow registry).
    public struct Reply: Sendable {
        public var status: Int
        public var headers: [(String, String)]
        public var body: [UInt8]
        public var delay: Duration

        public init(status: Int, headers: [(String, String)] = [], body: [UInt8] = [], delay: Duration = .zero) {
            self.status = status
            self.headers = headers
            self.body = body
            self.delay = delay
        }
    }

    public struct Recorded: Sendable, Equatable {
        public let method: String
        public let target: String
        public let authorization: String?
        public let accept: String?
        public let userAgent: String?
    }

    /// Chooses the reply for a request; `index` counts earlier requests with the same method and path.
    public typealias Script = @Sendable (_ method: String, _ path: String, _ index: Int) -> Reply

    private let server: LoopbackServer
    public var port: Int { server.port }
    /// `127.0.0.1:PORT`.
    public var host: String { "127.0.0.1:\(server.port)" }

    /// - Parameter port: 0 for an ephemeral port, or a fixed one (a registry coming back on the
    ///   address that was dead).
    public static func start(port: Int = 0, _ script: @escaping Script) async throws -> ScriptedHTTPServer {
        let log = RecordedLog()
        let responder = ClosureResponder { request, _ in
            log.enter()
            defer { log.leave() }
            let index = log.append(Recorded(method: request.method, target: request.target,
                authorization: request.headers["Authorization"], accept: request.headers["Accept"], userAgent: request.headers["User-Agent"]))
            let reply = script(request.method, request.path, index)
            if reply.delay > .zero { try? await Task.sleep(for: reply.delay) }
            return HTTPResponse(status: reply.status, headers: HTTPHeaders(reply.headers), body: reply.body)
        }
        let server = try await LoopbackServer(port: port, responder: responder, tls: nil, logger: testLogger("scripted-registry"))
        return ScriptedHTTPServer(server: server, log: log)
    }

    private init(server: LoopbackServer, log: RecordedLog) {
        self.server = server
        self.recordedLog = log
    }

    private let recordedLog: RecordedLog

    /// Every request so far, in arrival order.
    public var requests: [Recorded] { recordedLog.all }

    /// The most requests that were being answered at the same moment.
    public var peakConcurrentRequests: Int { recordedLog.peak }

    public func stop() async { await server.stop() }
}

/// Shared between the responder closure and the server object.
final class RecordedLog: Sendable {
    private let entries = Mutex<[ScriptedHTTPServer.Recorded]>([])
    private let concurrency = Mutex<(current: Int, peak: Int)>((0, 0))

    func enter() { concurrency.withLock { $0.current += 1; $0.peak = max($0.peak, $0.current) } }
    func leave() { concurrency.withLock { $0.current -= 1 } }
    var peak: Int { concurrency.withLock { $0.peak } }

    /// Appends and returns how many earlier requests had the same method and path.
    func append(_ entry: ScriptedHTTPServer.Recorded) -> Int {
        entries.withLock { list in
            let path = entry.target.split(separator: "?").first.map(String.init) ?? entry.target
            let index = list.filter { $0.method == entry.method && ($0.target.split(separator: "?").first.map(String.init) ?? $0.target) == path }.count
            list.append(entry)
            return index
        }
    }

    var all: [ScriptedHTTPServer.Recorded] { entries.withLock { $0 } }
}
