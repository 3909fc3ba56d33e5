import Foundation
import KateNet
import Testing

@testable import KateRegistry

@Suite("WWW-Authenticate parsing")
struct AuthChallengeTests {
    @Test("Docker Hub style Bearer challenge")
    func bearer() throws {
        let c = AuthChallenge.parse(headerValues: [
            #"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:samalba/my-app:pull,push""#
        ])
        let only = try #require(c.first)
        #expect(c.count == 1)
        #expect(only.scheme == "bearer")
        #expect(only.realm == "https://auth.docker.io/token")
        #expect(only.service == "registry.docker.io")
        #expect(only.scope == "repository:samalba/my-app:pull,push")
    }

    @Test("Basic with realm, case-insensitive scheme and names")
    func basic() throws {
        let c = try #require(AuthChallenge.parse(headerValues: [#"BASIC Realm="Registry Realm""#]).first)
        #expect(c.scheme == "basic")
        #expect(c.realm == "Registry Realm")
    }

    @Test("several challenges in one header, commas inside quotes, escapes, token values")
    func several() throws {
        let c = AuthChallenge.parse(headerValues: [
            #"Newauth realm="apps", type=1, title="Login to \"apps\", please", Basic realm="simple", Bearer realm="https://r/t",error="insufficient_scope""#
        ])
        #expect(c.map(\.scheme) == ["newauth", "basic", "bearer"])
        #expect(c[0].parameters["type"] == "1")
        #expect(c[0].parameters["title"] == #"Login to "apps", please"#)
        #expect(c[1].realm == "simple")
        #expect(c[2].parameters["error"] == "insufficient_scope")
    }

    @Test("challenges split over several header fields")
    func severalFields() {
        let c = AuthChallenge.parse(headerValues: [#"Basic realm="a""#, #"Bearer realm="https://b/token", service="s""#])
        #expect(c.map(\.scheme) == ["basic", "bearer"])
        #expect(c[1].service == "s")
    }

    @Test("token68 and bare schemes")
    func token68() {
        let c = AuthChallenge.parse(headerValues: ["Negotiate abc+/def==, Basic", "Bearer"])
        #expect(c.map(\.scheme) == ["negotiate", "basic", "bearer"])
        #expect(c[0].token68 == "abc+/def==")
        #expect(c[1].parameters.isEmpty)
    }

    @Test("whitespace around = and unterminated quotes never crash", arguments: [
        #"Bearer realm = "x" , service= y"#, #"Bearer realm="unterminated"#, "", ",,,", "=", #"Bearer ="x""#, "Bearer realm=",
    ])
    func sloppy(_ header: String) {
        let c = AuthChallenge.parse(headerValues: [header])
        if header.hasPrefix("Bearer realm = ") {
            #expect(c.first?.realm == "x")
            #expect(c.first?.service == "y")
        }
        if header == #"Bearer realm="unterminated"# { #expect(c.first?.realm == "unterminated") }
    }
}

@Suite("Token responses")
struct TokenResponseTests {
    @Test("token, access_token, expires_in default 60")
    func fields() throws {
        #expect(TokenResponse.parse(Array(#"{"token":"t1","expires_in":300}"#.utf8)) == TokenResponse(token: "t1", expiresIn: 300))
        #expect(TokenResponse.parse(Array(#"{"access_token":"t2"}"#.utf8)) == TokenResponse(token: "t2", expiresIn: 60))
        #expect(TokenResponse.parse(Array(#"{"token":"","access_token":"t3"}"#.utf8))?.token == "t3")
        #expect(TokenResponse.parse(Array(#"{"expires_in":60}"#.utf8)) == nil)
        #expect(TokenResponse.parse(Array("not json".utf8)) == nil)
        #expect(TokenResponse(token: "x", expiresIn: 60).cacheLifetime == .seconds(54))
        #expect(TokenResponse(token: "x", expiresIn: 3600).cacheLifetime == .seconds(3590))
    }
}

@Suite("Retry-After")
struct RetryAfterTests {
    @Test("seconds and HTTP-date")
    func parse() {
        #expect(RetryAfter.parse("3") == .seconds(3))
        #expect(RetryAfter.parse("-1") == nil)
        #expect(RetryAfter.parse("soon") == nil)
        #expect(RetryAfter.parse(nil) == nil)
        let now = Date(timeIntervalSince1970: 1_700_000_000)
        let later = RetryAfter.parse("Tue, 14 Nov 2023 22:13:30 GMT", now: now.timeIntervalSince1970)
        #expect(later == .seconds(10))
    }
}

