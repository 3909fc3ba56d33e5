/// Opens client connections: direct, through an HTTP proxy (absolute-form requests), or through a
/// CONNECT tunnel (https via proxy); TLS on top for https. Failures become `HTTPClientError`s that
/// name the host and the phase.
struct ClientConnector: Sendable {
    let tls: TLSContextLoader
    let connectTimeout: Duration

    /// How a request reaches its origin.
    enum Route: Sendable {
        case direct
        /// http:// through a proxy: the proxy connection is pooled under the proxy's origin.
        case forwardProxy(ClientURL)
        /// https:// through a proxy: a tunnel, pooled under the target origin.
        case tunnel(ClientURL)
    }

    func open(_ url: ClientURL, route: Route, deadline: ContinuousClock.Instant) async throws(HTTPClientError) -> any ByteStream {
        switch route {
        case .direct:
            let tcp = try await connectTCP(host: url.host, port: url.port, deadline: deadline)
            return url.isTLS ? try await handshake(tcp, url: url, deadline: deadline) : tcp
        case .forwardProxy(let proxy):
            return try await connectTCP(host: proxy.host, port: proxy.port, deadline: deadline)
        case .tunnel(let proxy):
            let tcp = try await connectTCP(host: proxy.host, port: proxy.port, deadline: deadline)
            do {
                try await establishTunnel(tcp, to: url, proxy: proxy, deadline: deadline)
            } catch {
                await tcp.close()
                throw error
            }
            return try await handshake(tcp, url: url, deadline: deadline)
        }
    }

    private func connectTCP(host: String, port: Int, deadline: ContinuousClock.Instant) async throws(HTTPClientError) -> TCPStream {
        let connectDeadline = min(deadline, .now + connectTimeout)
        do {
            return try await TCPStream.connect(host: host, port: port, deadline: connectDeadline)
        } catch let error as NetError {
            switch error.kind {
            case .timedOut: throw .timeout(host: "\(host):\(port)", phase: "connect")
            case .dns: throw .dnsFailure(host: host, message: error.message)
            default: throw .connectFailed(host: host, port: port, message: error.message)
            }
        } catch {
            throw .connectFailed(host: host, port: port, message: "\(error)")
        }
    }

    private func handshake(_ tcp: TCPStream, url: ClientURL, deadline: ContinuousClock.Instant) async throws(HTTPClientError) -> TLSStream {
        let context: TLSClientContext
        switch await tls.context() {
        case .success(let c): context = c
        case .failure(let error):
            await tcp.close()
            throw error
        }
        do {
            return try await TLSStream.connect(tcp, context: context, serverName: url.host, deadline: deadline)
        } catch let error as NetError where error.kind == .timedOut {
            throw .timeout(host: url.authority, phase: "tls")
        } catch let error as NetError {
            throw .tlsFailure(host: url.authority, message: error.message)
        } catch {
            throw .tlsFailure(host: url.authority, message: "\(error)")
        }
    }

    /// CONNECT host:port through the proxy; on 2xx the TCP stream is the tunnel.
    private func establishTunnel(_ tcp: TCPStream, to url: ClientURL, proxy: ClientURL, deadline: ContinuousClock.Instant) async throws(HTTPClientError) {
        var headers: HTTPHeaders = ["Host": url.authority]
        if let credentials = proxy.userinfo { headers.add(name: "Proxy-Authorization", value: "Basic " + Base64.encode(Array(credentials.utf8))) }
        let request = HTTPSerializer.request(method: "CONNECT", target: url.authority, host: url.authority, headers: headers, body: [])
        var parser = HTTPResponseParser(requestMethod: "CONNECT", maxBodyBytes: 64 * 1024)
        let proxyName = proxy.authority
        do {
            try await tcp.write(request, deadline: deadline)
            while true {
                // Read small: bytes after the CONNECT answer belong to the TLS handshake, and the
                // head is all a proxy sends before it. A proxy that pipelines more is broken.
                let bytes = try await tcp.read(maxBytes: 1024, deadline: deadline)
                if bytes.isEmpty { throw HTTPClientError.proxyFailure(proxy: proxyName, message: "closed the connection in answer to CONNECT \(url.authority)") }
                parser.append(bytes)
                if let (response, _) = try parser.next() {
                    guard (200..<300).contains(response.status) else {
                        throw HTTPClientError.proxyFailure(proxy: proxyName, message: "answered \(response.status) to CONNECT \(url.authority)")
                    }
                    guard parser.unconsumedBytes.isEmpty else {
                        throw HTTPClientError.proxyFailure(proxy: proxyName, message: "sent bytes after its CONNECT answer")
                    }
                    return
                }
            }
        } catch let error as HTTPClientError {
            throw error
        } catch let error as NetError where error.kind == .timedOut {
            throw .timeout(host: proxyName, phase: "proxy")
        } catch {
            throw .proxyFailure(proxy: proxyName, message: "CONNECT \(url.authority) failed: \(error)")
        }
    }
}

/// RFC 4648 base64 (Proxy-Authorization only; KateNet has no Foundation dependency).
enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i < bytes.count {
            let b0 = bytes[i], b1 = i + 1 < bytes.count ? bytes[i + 1] : 0, b2 = i + 2 < bytes.count ? bytes[i + 2] : 0
            out.append(alphabet[Int(b0 >> 2)])
            out.append(alphabet[Int((b0 & 0x03) << 4 | b1 >> 4)])
            out.append(i + 1 < bytes.count ? alphabet[Int((b1 & 0x0F) << 2 | b2 >> 6)] : UInt8(ascii: "="))
            out.append(i + 2 < bytes.count ? alphabet[Int(b2 & 0x3F)] : UInt8(ascii: "="))
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }
}
