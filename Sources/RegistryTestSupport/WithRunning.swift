/// Scoped lifetimes for test servers: stopped when the body returns or throws, so no test leaves
/// a registry process or a listener behind (a `defer { Task { … } }` may never run before exit).
extension TestRegistry {
    @discardableResult
    public static func withRunning<T>(_ mode: Mode = .plainHTTP, _ body: (TestRegistry) async throws -> T) async throws -> T {
        let registry = try await start(mode)
        do {
            let result = try await body(registry)
            await registry.stop()
            return result
        } catch {
            await registry.stop()
            throw error
        }
    }
}

extension ScriptedHTTPServer {
    @discardableResult
    public static func withRunning<T>(port: Int = 0, _ script: @escaping Script, _ body: (ScriptedHTTPServer) async throws -> T) async throws -> T {
        let server = try await start(port: port, script)
        do {
            let result = try await body(server)
            await server.stop()
            return result
        } catch {
            await server.stop()
            throw error
        }
    }
}
