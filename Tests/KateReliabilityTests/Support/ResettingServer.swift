import KateNet

/// A TCP server on 127.0.0.1 that reads the start of each request and hangs up without a byte
/// of answer: what a registry behind a crashing proxy or a dropping load balancer looks like.
final class ResettingServer: Sendable {
    let port: Int
    private let listener: TCPListener
    private let acceptTask: Task<Void, Never>

    init() throws {
        let listener = try TCPListener(host: "127.0.0.1", port: 0)
        self.listener = listener
        self.port = listener.localPort
        acceptTask = Task {
            await withDiscardingTaskGroup { group in
                while let connection = try? await listener.accept() {
                    group.addTask {
                        _ = try? await connection.read(maxBytes: 4096, deadline: .now + .seconds(2))
                        await connection.close()
                    }
                }
            }
        }
    }

    var host: String { "127.0.0.1:\(port)" }

    func stop() async {
        listener.close()
        await acceptTask.value
    }
}
