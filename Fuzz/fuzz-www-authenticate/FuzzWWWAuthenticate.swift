// libFuzzer target: the `WWW-Authenticate` challenge parser (registry 401 answers).
//
// Each input line is one header value. Invariants beyond "no crash": schemes come out
// lowercased and non-empty; printing the challenges back in RFC 9110 syntax (parameters quoted
// and escaped) and parsing that gives the same challenges.
import KateRegistry

private func quoted(_ value: String) -> String {
    var out = "\""
    for c in value.unicodeScalars {
        if c == "\"" || c == "\\" { out += "\\" }
        out.unicodeScalars.append(c)
    }
    return out + "\""
}

private func print(_ challenges: [AuthChallenge]) -> String {
    challenges.map { challenge in
        if let token68 = challenge.token68 { return challenge.scheme + " " + token68 }
        let parameters = challenge.parameters.keys.sorted().map { "\($0)=\(quoted(challenge.parameters[$0] ?? ""))" }
        return parameters.isEmpty ? challenge.scheme : challenge.scheme + " " + parameters.joined(separator: ", ")
    }.joined(separator: ", ")
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWWWAuthenticate(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let values = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    let challenges = AuthChallenge.parse(headerValues: values)
    for challenge in challenges {
        if challenge.scheme.isEmpty || challenge.scheme != challenge.scheme.lowercased() {
            fatalError("scheme \(challenge.scheme.debugDescription) is empty or not lowercased")
        }
        for name in challenge.parameters.keys where name.isEmpty || name != name.lowercased() {
            fatalError("parameter name \(name.debugDescription) is empty or not lowercased")
        }
        _ = (challenge.realm, challenge.service, challenge.scope)
    }
    let printed = print(challenges)
    let reparsed = AuthChallenge.parse(headerValues: [printed])
    if reparsed != challenges {
        fatalError("parse(print(x)) != x:\n input: \(text.debugDescription)\n printed: \(printed.debugDescription)\n first: \(challenges)\n again: \(reparsed)")
    }
    return 0
}
