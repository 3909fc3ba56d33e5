import Testing

@testable import KateNet

/// The pieces the registry client, the Kubernetes client and the webhook share from KateNet:
/// base64, the Basic-auth header, `Retry-After` and the retry policy.
@Suite("Client shared pieces")
struct ClientSharedPiecesTests {
    @Test("base64: the RFC 4648 §10 test vectors")
    func base64Vectors() {
        let vectors = ["": "", "f": "Zg==", "fo": "Zm8=", "foo": "Zm9v", "foob": "Zm9vYg==", "fooba": "Zm9vYmE=", "foobar": "Zm9vYmFy"]
        for (input, expected) in vectors { #expect(Base64.encode(input) == expected, "\(input)") }
        #expect(Base64.encode([0xFF, 0xFE, 0xFD, 0x00]) == "//79AA==")
    }

    @Test("Basic auth: RFC 7617's example; the proxy's userinfo form gives the same header")
    func basic() {
        #expect(HTTPAuthorization.basic(user: "Aladdin", password: "open sesame") == "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==")
        #expect(HTTPAuthorization.basic(credentials: "Aladdin:open sesame") == HTTPAuthorization.basic(user: "Aladdin", password: "open sesame"))
        #expect(HTTPAuthorization.basic(user: "robot", password: "") == "Basic " + Base64.encode("robot:"))
    }

    @Test("Retry-After: delay-seconds")
    func retryAfterSeconds() {
        #expect(RetryAfter.parse("3") == .seconds(3))
        #expect(RetryAfter.parse(" 120 ") == .seconds(120))
        #expect(RetryAfter.parse("0") == .zero)
        #expect(RetryAfter.parse("-1") == nil)
        #expect(RetryAfter.parse("1.5") == nil)
        #expect(RetryAfter.parse("soon") == nil)
        #expect(RetryAfter.parse("") == nil)
        #expect(RetryAfter.parse(nil) == nil)
    }

    @Test("Retry-After: the three HTTP-date forms of RFC 9110 §5.6.7, measured from now; past dates are no wait")
    func retryAfterDates() {
        // Sun, 06 Nov 1994 08:49:37 GMT is 784111777 (RFC 9110's example date).
        let now = 784_111_777.0 - 10
        #expect(RetryAfter.parse("Sun, 06 Nov 1994 08:49:37 GMT", now: now) == .seconds(10))
        #expect(RetryAfter.parse("Sunday, 06-Nov-94 08:49:37 GMT", now: now) == .seconds(10))
        #expect(RetryAfter.parse("Sun Nov  6 08:49:37 1994", now: now) == .seconds(10))
        #expect(RetryAfter.parse("Sun, 06 Nov 1994 08:49:37 GMT", now: now + 0.5) == .milliseconds(9500))
        #expect(RetryAfter.parse("Sun, 06 Nov 1994 08:49:37 GMT", now: now + 3600) == .zero)
        // Leap day, year and month boundaries.
        #expect(HTTPDate.secondsSince1970("Thu, 01 Jan 1970 00:00:00 GMT") == 0)
        #expect(HTTPDate.secondsSince1970("Tue, 29 Feb 2000 12:00:00 GMT") == 951_825_600)
        #expect(HTTPDate.secondsSince1970("Tue, 14 Nov 2023 22:13:30 GMT") == 1_700_000_010)
        #expect(HTTPDate.secondsSince1970("Thu, 31 Dec 2099 23:59:59 GMT") == 4_102_444_799)
        // Not dates.
        for bad in ["Mon, 29 Feb 2021 00:00:00 GMT", "Sun, 06 Nov 1994 24:00:00 GMT", "Sun, 06 Nov 1994 08:49:37 CET",
                    "Sun, 6 Nov 1994 08:49:37 GMT", "Sun, 06 Foo 1994 08:49:37 GMT", "06 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 08:49 GMT"] {
            #expect(HTTPDate.secondsSince1970(bad) == nil, "\(bad)")
        }
    }

    @Test("retry policy: Retry-After within the bound is the wait, beyond it no retry; backoff doubles, capped, jittered")
    func retryPolicy() {
        let policy = RetryPolicy(maxAttempts: 3, initialBackoff: .milliseconds(100), maxBackoff: .milliseconds(250), maxRetryAfter: .seconds(5))
        #expect(policy.delay(afterAttempt: 1, retryAfter: .seconds(2)) == .seconds(2))
        #expect(policy.delay(afterAttempt: 1, retryAfter: .seconds(6)) == nil)
        #expect(policy.delay(afterAttempt: 3, retryAfter: nil) == nil, "out of attempts")
        #expect(policy.delay(afterAttempt: 3, retryAfter: .seconds(1)) == nil, "out of attempts")
        for _ in 0..<100 {
            let first = policy.backoff(afterAttempt: 1), second = policy.backoff(afterAttempt: 2), capped = policy.backoff(afterAttempt: 9)
            #expect(first >= .milliseconds(50) && first <= .milliseconds(100))
            #expect(second >= .milliseconds(100) && second <= .milliseconds(200))
            #expect(capped >= .milliseconds(125) && capped <= .milliseconds(250))
            let delay = policy.delay(afterAttempt: 2, retryAfter: nil)
            #expect(delay.map { $0 >= .milliseconds(100) && $0 <= .milliseconds(200) } == true)
        }
        #expect(RetryPolicy(maxAttempts: 0).maxAttempts == 1)
    }
}

@Suite("HTTP client cancellation")
struct HTTPClientCancellationTests {
    /// Cancels a request waiting for a server that read it and never answers: the task ends at
    /// once with `CancellationError`, not `.connectionClosed` (which the registry client counted
    /// against the host and could retry) and not at the deadline.
    @Test("a cancelled read surfaces as CancellationError, at once")
    func cancelledRead() async throws {
        try await NetHTTPScriptedServer.with(script: { _, stream in
            _ = try await NetHTTPScriptedServer.readRequest(stream)
            _ = try? await stream.read(maxBytes: 1024, deadline: .now + .seconds(30))
        }) { server in
            let client = HTTPClient(configuration: .init(connectTimeout: .seconds(30)))
            let request = Task {
                try await client.execute(.init(url: "http://127.0.0.1:\(server.port)/"), deadline: .now + .seconds(30))
            }
            try await Task.sleep(for: .milliseconds(300))
            let cancelled = ContinuousClock.now
            request.cancel()
            let result = await request.result
            #expect(ContinuousClock.now - cancelled < .seconds(5))
            #expect(throws: CancellationError.self) { try result.get() }
            await client.shutdown()
        }
    }

    @Test("a request in a cancelled task fails with CancellationError before connecting")
    func alreadyCancelled() async throws {
        try await NetHTTPScriptedServer.with(script: { _, stream in
            _ = try await NetHTTPScriptedServer.readRequest(stream)
        }) { server in
            let client = HTTPClient(configuration: .init(connectTimeout: .seconds(30)))
            let request = Task {
                withUnsafeCurrentTask { $0?.cancel() }
                return try await client.execute(.init(url: "http://127.0.0.1:\(server.port)/"), deadline: .now + .seconds(30))
            }
            let result = await request.result
            #expect(throws: CancellationError.self) { try result.get() }
            await client.shutdown()
        }
    }
}
