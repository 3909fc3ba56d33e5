import KateNet

/// What the registry received, read back from its own access log.
extension TestRegistry {
    public struct ReceivedRequest: Sendable, Equatable, CustomStringConvertible {
        public let method: String
        /// The request target (`/v2/app/manifests/v1`).
        public let target: String
        public let status: Int
        public var description: String { "\(method) \(target) \(status)" }
    }

    /// Every request the registry has logged so far. A marker request is sent and awaited first:
    /// the registry logs after answering, so without it a request whose answer the test has
    /// already seen might not be in the log yet.
    public func receivedRequests() async throws -> [ReceivedRequest] {
        let target = "/v2/?kate-marker=\(marker.increment())"
        _ = try await client.execute(HTTPClientRequest(method: "GET", url: baseURL + target), deadline: .now + .seconds(5))
        let deadline = ContinuousClock.now + .seconds(5)
        while true {
            let all = Self.parseAccessLog(log)
            if let end = all.firstIndex(where: { $0.target == target }) {
                return all[..<end].filter { !$0.target.hasPrefix("/v2/?kate-marker=") }
            }
            guard ContinuousClock.now < deadline else { throw SetupError(description: "marker request never appeared in the registry log") }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Manifest requests (HEAD/GET/PUT/DELETE `/v2/<repository>/manifests/…`) for one repository.
    public func manifestRequests(repository: String) async throws -> [ReceivedRequest] {
        try await receivedRequests().filter { $0.target.hasPrefix("/v2/\(repository)/manifests/") }
    }

    /// Parses access-log lines: `127.0.0.1 - - [date] "HEAD /v2/a/manifests/b HTTP/1.1" 200 93 "" "agent"`.
    static func parseAccessLog(_ text: String) -> [ReceivedRequest] {
        text.split(separator: "\n").compactMap { line in
            guard !line.hasPrefix("time="), let open = line.firstIndex(of: "\"") else { return nil }
            let afterOpen = line[line.index(after: open)...]
            guard let close = afterOpen.firstIndex(of: "\"") else { return nil }
            let requestLine = afterOpen[..<close].split(separator: " ")
            guard requestLine.count == 3, requestLine[2].hasPrefix("HTTP/") else { return nil }
            let status = afterOpen[afterOpen.index(after: close)...].split(separator: " ").first.flatMap { Int($0) }
            guard let status else { return nil }
            return ReceivedRequest(method: String(requestLine[0]), target: String(requestLine[1]), status: status)
        }
    }
}
