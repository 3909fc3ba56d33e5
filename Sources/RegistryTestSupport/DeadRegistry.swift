import KateNet
import Synchronization

/// A registry address that fails the three ways a real outage does, on loopback only:
///
/// - `refused`: nothing listens on the port (connect() gets RST at once).
/// - `hung`: a listener that accepts connections and never answers (a stuck process, a proxy
///   that lost its upstream).
/// - `blackholed`: a listener whose accept queue is full and never drained. Linux drops the SYNs
///   of further connects (`tcp_conn_request`: "listen queue full" → drop), so connect() hangs
///   exactly as it does when a firewall drops packets.
///
/// `release()` frees the port so a real server can take it: "the registry is back".
public final class DeadRegistry: Sendable {
    public enum Mode: String, Sendable, CaseIterable {
        case refused, hung, blackholed
    }

    public let mode: Mode
    public let port: Int
    /// `127.0.0.1:PORT`, as an image reference names it.
    public var host: String { "127.0.0.1:\(port)" }

    private let listener: TCPListener?
    private let held: StreamBag
    private let acceptor: Task<Void, Never>?

    public static func start(_ mode: Mode) async throws -> DeadRegistry {
        let held = StreamBag()
        switch mode {
        case .refused:
            return DeadRegistry(mode: mode, port: try FreePort.pick(), listener: nil, held: held, acceptor: nil)
        case .hung:
            let listener = try TCPListener(host: "127.0.0.1", port: 0)
            let acceptor = Task {
                while let stream = try? await listener.accept() { held.add(stream) }
            }
            return DeadRegistry(mode: mode, port: listener.localPort, listener: listener, held: held, acceptor: acceptor)
        case .blackholed:
            // Backlog 0: the accept queue holds one connection. Fill it, then prove that the next
            // connect hangs; keep the fillers open so it stays full.
            let listener = try TCPListener(host: "127.0.0.1", port: 0, backlog: 0)
            let port = listener.localPort
            for _ in 0..<8 {
                guard let stream = try? await TCPStream.connect(host: "127.0.0.1", port: port, deadline: .now + .milliseconds(300)) else { break }
                held.add(stream)
            }
            if let stream = try? await TCPStream.connect(host: "127.0.0.1", port: port, deadline: .now + .milliseconds(300)) {
                held.add(stream)
                await held.closeAll()
                listener.close()
                throw TestRegistry.SetupError(description: "a full accept queue did not drop SYNs (connect succeeded): cannot emulate a blackhole here")
            }
            return DeadRegistry(mode: mode, port: port, listener: listener, held: held, acceptor: nil)
        }
    }

    private init(mode: Mode, port: Int, listener: TCPListener?, held: StreamBag, acceptor: Task<Void, Never>?) {
        self.mode = mode
        self.port = port
        self.listener = listener
        self.held = held
        self.acceptor = acceptor
    }

    /// Closes the listener and every held connection: the port is free again.
    public func release() async {
        listener?.close()
        acceptor?.cancel()
        await acceptor?.value
        await held.closeAll()
    }
}

/// Connections kept open on purpose.
final class StreamBag: Sendable {
    private let streams = Mutex<[TCPStream]>([])

    func add(_ stream: TCPStream) { streams.withLock { $0.append(stream) } }

    func closeAll() async {
        let all = streams.withLock { list in
            defer { list = [] }
            return list
        }
        for stream in all { await stream.close() }
    }
}
