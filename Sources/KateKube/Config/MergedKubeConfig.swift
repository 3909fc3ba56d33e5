import Foundation
import KateNet

/// Several kubeconfig files merged as kubectl merges `KUBECONFIG`: for clusters, users and
/// contexts the first file that defines a name wins; `current-context` comes from the first file
/// that sets it. Each entry remembers its file so errors can point at it.
struct MergedKubeConfig: Sendable {
    struct Entry<Value: Sendable>: Sendable {
        var value: Value
        var file: String
    }

    var clusters: [String: Entry<KubeConfigFile.Cluster>] = [:]
    var users: [String: Entry<KubeConfigFile.User>] = [:]
    var contexts: [String: Entry<KubeConfigFile.Context>] = [:]
    var currentContext: Entry<String>?
    /// Every merged file, for errors that belong to no single one.
    var paths: [String] = []

    init(files: [(path: String, config: KubeConfigFile)]) throws {
        paths = files.map(\.path)
        for (path, config) in files {
            for named in config.clusters ?? [] where clusters[named.name] == nil {
                clusters[named.name] = Entry(value: named.cluster, file: path)
            }
            for named in config.users ?? [] where users[named.name] == nil {
                users[named.name] = Entry(value: named.user, file: path)
            }
            for named in config.contexts ?? [] where contexts[named.name] == nil {
                contexts[named.name] = Entry(value: named.context, file: path)
            }
            if currentContext == nil, let current = config.currentContext, !current.isEmpty {
                currentContext = Entry(value: current, file: path)
            }
        }
    }

    func clientConfiguration(context requested: String?) throws -> KubeClientConfiguration {
        let contextName: String
        if let requested, !requested.isEmpty {
            contextName = requested
        } else if let current = currentContext {
            contextName = current.value
        } else {
            throw KubeConfigError(
                .noContext, "no current-context is set; pass --context (available: \(Self.list(contexts.keys)))",
                file: paths.joined(separator: ", ")
            )
        }
        guard let context = contexts[contextName] else {
            throw KubeConfigError(
                .unknownContext, "context \"\(contextName)\" is not defined (available: \(Self.list(contexts.keys)))",
                file: currentContext?.file, context: contextName
            )
        }
        guard let clusterName = context.value.cluster, !clusterName.isEmpty else {
            throw KubeConfigError(.missingField, "the context names no cluster", file: context.file, context: contextName, field: "contexts[].context.cluster")
        }
        guard let cluster = clusters[clusterName] else {
            throw KubeConfigError(
                .unknownCluster, "cluster \"\(clusterName)\" is not defined (available: \(Self.list(clusters.keys)))",
                file: context.file, context: contextName, field: "contexts[].context.cluster"
            )
        }
        var user: Entry<KubeConfigFile.User>?
        let userName = context.value.user ?? ""
        if !userName.isEmpty {
            guard let found = users[userName] else {
                throw KubeConfigError(
                    .unknownUser, "user \"\(userName)\" is not defined (available: \(Self.list(users.keys)))",
                    file: context.file, context: contextName, field: "contexts[].context.user"
                )
            }
            user = found
        }
        let builder = ContextBuilder(contextName: contextName, cluster: cluster, clusterName: clusterName, user: user, userName: userName)
        var configuration = try builder.build()
        if let namespace = context.value.namespace, !namespace.isEmpty { configuration.namespace = namespace }
        configuration.source = "kubeconfig \(context.file), context \(contextName)"
        return configuration
    }

    private static func list(_ names: Dictionary<String, some Any>.Keys) -> String {
        names.isEmpty ? "none" : names.sorted().joined(separator: ", ")
    }
}

/// Turns one resolved (cluster, user) pair into TLS settings and an auth method, validating as
/// client-go does (one auth method per user, cert+key together, no CA with insecure mode).
private struct ContextBuilder {
    let contextName: String
    let cluster: MergedKubeConfig.Entry<KubeConfigFile.Cluster>
    let clusterName: String
    let user: MergedKubeConfig.Entry<KubeConfigFile.User>?
    let userName: String

    func build() throws -> KubeClientConfiguration {
        let c = cluster.value
        guard var server = c.server?.trimmingCharacters(in: .whitespaces), !server.isEmpty else {
            throw clusterError(.missingField, "cluster \"\(clusterName)\" has no server", field: "server")
        }
        if !server.contains("://") { server = "https://" + server }
        guard server.hasPrefix("https://") || server.hasPrefix("http://") else {
            throw clusterError(.invalidField, "cluster \"\(clusterName)\" server \(server) is not an http(s) URL", field: "server")
        }
        var tls = TLSClientConfiguration()
        tls.serverNameOverride = c.tlsServerName.flatMap { $0.isEmpty ? nil : $0 }
        tls.insecureSkipVerify = c.insecureSkipTLSVerify ?? false
        let caData = c.certificateAuthorityData.flatMap { $0.isEmpty ? nil : $0 }
        let caFile = c.certificateAuthority.flatMap { $0.isEmpty ? nil : $0 }
        if tls.insecureSkipVerify, caData != nil || caFile != nil {
            throw clusterError(.invalidField, "insecure-skip-tls-verify cannot be combined with a certificate authority", field: "insecure-skip-tls-verify")
        }
        if let caData {
            tls.additionalTrustRoots = [.pem(try decodePEM(caData, field: "certificate-authority-data", inCluster: true))]
            tls.useSystemTrustStore = false
        } else if let caFile {
            try requireFile(caFile, field: "certificate-authority", inCluster: true)
            tls.additionalTrustRoots = [.file(caFile)]
            tls.useSystemTrustStore = false
        }
        let auth = try userAuth(tls: &tls, server: server, caData: caData ?? caFile.flatMap { try? String(contentsOfFile: $0, encoding: .utf8) }.map { Base64.encode($0) })
        return KubeClientConfiguration(
            server: server, tls: tls, auth: auth, proxyURL: c.proxyURL.flatMap { $0.isEmpty ? nil : $0 }
        )
    }

    private func userAuth(tls: inout TLSClientConfiguration, server: String, caData: String?) throws -> KubeAuth {
        guard let user else { return .none }
        let u = user.value
        if let name = u.authProvider?.name {
            throw userError(
                .unsupported,
                "auth-provider \"\(name)\" was removed from Kubernetes clients; switch the user to an exec plugin (e.g. kubelogin, gke-gcloud-auth-plugin)",
                field: "auth-provider"
            )
        }
        // Client certificate: data wins over file, as in client-go.
        let cert: PEMSource? = try u.clientCertificateData.flatMap { $0.isEmpty ? nil : $0 }
            .map { .pem(try decodePEM($0, field: "client-certificate-data")) }
            ?? u.clientCertificate.flatMap { $0.isEmpty ? nil : $0 }.map { path in try requireFile(path, field: "client-certificate"); return .file(path) }
        let key: PEMSource? = try u.clientKeyData.flatMap { $0.isEmpty ? nil : $0 }
            .map { .pem(try decodePEM($0, field: "client-key-data")) }
            ?? u.clientKey.flatMap { $0.isEmpty ? nil : $0 }.map { path in try requireFile(path, field: "client-key"); return .file(path) }
        switch (cert, key) {
        case (nil, nil): break
        case (.some, .some): tls.clientCertificate = cert; tls.clientPrivateKey = key
        case (.some, nil): throw userError(.missingField, "a client certificate is set without its key", field: "client-key")
        case (nil, .some): throw userError(.missingField, "a client key is set without its certificate", field: "client-certificate")
        }
        let token = u.token.flatMap { $0.isEmpty ? nil : $0 }
        let tokenFile = u.tokenFile.flatMap { $0.isEmpty ? nil : $0 }
        let basic = (u.username.flatMap { $0.isEmpty ? nil : $0 }, u.password)
        var methods: [String] = []
        if token != nil || tokenFile != nil { methods.append("token") }
        if basic.0 != nil { methods.append("username/password") }
        if u.exec != nil { methods.append("exec") }
        guard methods.count <= 1 else {
            throw userError(.invalidField, "more than one authentication method is set (\(methods.joined(separator: ", "))); keep one", field: nil)
        }
        if let exec = u.exec { return .exec(try execConfig(exec, server: server, caData: caData)) }
        // client-go prefers the file when both are set: it is re-read, the inline token is not.
        if let tokenFile {
            try requireFile(tokenFile, field: "tokenFile")
            return .tokenFile(tokenFile)
        }
        if let token { return .token(token) }
        if let username = basic.0 { return .basic(username: username, password: basic.1 ?? "") }
        return .none
    }

    private func execConfig(_ exec: KubeConfigFile.Exec, server: String, caData: String?) throws -> ExecConfig {
        guard let command = exec.command, !command.isEmpty else {
            throw userError(.missingField, "the exec plugin has no command", field: "exec.command")
        }
        let apiVersion = exec.apiVersion ?? ""
        guard ExecCredentialPlugin.supportedAPIVersions.contains(apiVersion) else {
            throw userError(
                .invalidField,
                "exec apiVersion \"\(apiVersion)\" is not supported (use client.authentication.k8s.io/v1 or v1beta1)",
                field: "exec.apiVersion"
            )
        }
        let c = cluster.value
        return ExecConfig(
            apiVersion: apiVersion, command: command, args: exec.args ?? [],
            env: (exec.env ?? []).map { ExecConfig.EnvVar(name: $0.name, value: $0.value) },
            installHint: exec.installHint, provideClusterInfo: exec.provideClusterInfo ?? false,
            interactiveMode: exec.interactiveMode,
            cluster: ExecConfig.ClusterInfo(
                server: server, certificateAuthorityData: caData, tlsServerName: c.tlsServerName,
                insecureSkipTLSVerify: c.insecureSkipTLSVerify ?? false, proxyURL: c.proxyURL
            )
        )
    }

    private func decodePEM(_ base64: String, field: String, inCluster: Bool = false) throws -> String {
        let compact = base64.filter { !$0.isWhitespace }
        guard let pem = Base64.decodeUTF8(compact), pem.contains("-----BEGIN") else {
            let message = "\(field) is not base64-encoded PEM"
            throw inCluster ? clusterError(.invalidField, message, field: field) : userError(.invalidField, message, field: field)
        }
        return pem
    }

    private func requireFile(_ path: String, field: String, inCluster: Bool = false) throws {
        guard FileManager.default.isReadableFile(atPath: path) else {
            let message = "\(field) file \(path) does not exist or is unreadable"
            throw inCluster ? clusterError(.invalidField, message, field: field) : userError(.invalidField, message, field: field)
        }
    }

    private func clusterError(_ kind: KubeConfigError.Kind, _ message: String, field: String) -> KubeConfigError {
        KubeConfigError(kind, message, file: cluster.file, context: contextName, field: "clusters[\(clusterName)].cluster.\(field)")
    }

    private func userError(_ kind: KubeConfigError.Kind, _ message: String, field: String?) -> KubeConfigError {
        KubeConfigError(kind, message, file: user?.file, context: contextName, field: field.map { "users[\(userName)].user.\($0)" })
    }
}
