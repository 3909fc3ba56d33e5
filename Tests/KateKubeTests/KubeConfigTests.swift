import Foundation
import KateNet
import Testing

@testable import KateKube

@Suite("kubeconfig loading and merging")
struct KubeConfigTests {
    static let caPEM = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"

    @Test("two KUBECONFIG files merge: first file wins per name, current-context from the first that sets it")
    func mergeTwoFiles() throws {
        let dir = try TemporaryDirectory()
        let first = try dir.write("a/config", """
            apiVersion: v1
            kind: Config
            clusters:
            - name: prod
              cluster:
                server: https://prod.example.com:6443
                certificate-authority: certs/prod-ca.crt
            users:
            - name: alice
              user:
                token: from-first
            contexts:
            - name: prod
              context: {cluster: prod, user: alice, namespace: shop}
            """)
        try dir.write("a/certs/prod-ca.crt", Self.caPEM)
        let second = try dir.write("b/config", """
            apiVersion: v1
            kind: Config
            current-context: prod
            clusters:
            - name: prod
              cluster:
                server: https://shadowed.example.com
            - name: dev
              cluster:
                server: https://dev.example.com
                insecure-skip-tls-verify: true
            users:
            - name: alice
              user:
                token: from-second
            - name: bob
              user:
                username: bob
                password: hunter2
            contexts:
            - name: dev
              context: {cluster: dev, user: bob}
            """)
        let env = ["KUBECONFIG": "\(first):\(dir.file("missing")):\(second)"]

        let prod = try KubeConfigLoader.load(kubeconfig: nil, context: nil, environment: env)
        #expect(prod.server == "https://prod.example.com:6443")
        #expect(prod.auth == .token("from-first"))
        #expect(prod.namespace == "shop")
        // Relative to the file that named it, not to the working directory.
        #expect(prod.tls.additionalTrustRoots == [.file(dir.file("a/certs/prod-ca.crt"))])
        #expect(prod.tls.useSystemTrustStore == false)
        #expect(prod.source.contains(first))

        let dev = try KubeConfigLoader.load(kubeconfig: nil, context: "dev", environment: env)
        #expect(dev.server == "https://dev.example.com")
        #expect(dev.auth == .basic(username: "bob", password: "hunter2"))
        #expect(dev.tls.insecureSkipVerify)
        #expect(dev.namespace == "default")
    }

    @Test("--kubeconfig wins over KUBECONFIG; data fields, tls-server-name, proxy-url and tokenFile")
    func explicitFileWithDataFields() throws {
        let dir = try TemporaryDirectory()
        try dir.write("token", "file-token\n")
        let path = try dir.write("config", """
            current-context: c
            clusters:
            - name: k
              cluster:
                server: https://10.0.0.1
                certificate-authority-data: \(Self.caPEM.base64)
                tls-server-name: kubernetes.default.svc
                proxy-url: http://proxy.internal:3128
            users:
            - name: u
              user:
                tokenFile: token
                client-certificate-data: \("-----BEGIN CERTIFICATE-----\nCERT\n-----END CERTIFICATE-----\n".base64)
                client-key-data: \("-----BEGIN PRIVATE KEY-----\nKEY\n-----END PRIVATE KEY-----\n".base64)
            contexts:
            - name: c
              context: {cluster: k, user: u}
            """)
        let config = try KubeConfigLoader.load(kubeconfig: path, context: nil, environment: ["KUBECONFIG": "/nonexistent"])
        #expect(config.tls.additionalTrustRoots == [.pem(Self.caPEM)])
        #expect(config.tls.serverNameOverride == "kubernetes.default.svc")
        #expect(config.proxyURL == "http://proxy.internal:3128")
        #expect(config.auth == .tokenFile(dir.file("token")))
        #expect(config.tls.clientCertificate == .pem("-----BEGIN CERTIFICATE-----\nCERT\n-----END CERTIFICATE-----\n"))
        #expect(config.tls.clientPrivateKey == .pem("-----BEGIN PRIVATE KEY-----\nKEY\n-----END PRIVATE KEY-----\n"))
    }

    @Test("~/.kube/config is the fallback")
    func homeFallback() throws {
        let dir = try TemporaryDirectory()
        try dir.write(".kube/config", """
            current-context: c
            clusters: [{name: k, cluster: {server: "https://home.example.com"}}]
            contexts: [{name: c, context: {cluster: k}}]
            """)
        let config = try KubeConfigLoader.load(kubeconfig: nil, context: nil, environment: ["HOME": dir.path])
        #expect(config.server == "https://home.example.com")
        #expect(config.auth == .none)
    }

    @Test("errors name the file, the context and the field", arguments: [
        ("current-context: c\ncontexts: [{name: c, context: {cluster: nope}}]\n", KubeConfigError.Kind.unknownCluster, "nope"),
        ("current-context: other\ncontexts: [{name: c, context: {cluster: k}}]\n", .unknownContext, "\"other\" is not defined (available: c)"),
        ("clusters: [{name: k, cluster: {server: https://x}}]\n", .noContext, "no current-context"),
        ("current-context: c\nclusters: [{name: k, cluster: {}}]\ncontexts: [{name: c, context: {cluster: k}}]\n", .missingField, "clusters[k].cluster.server"),
        ("current-context: c\nclusters: [{name: k, cluster: {server: https://x, insecure-skip-tls-verify: true, certificate-authority-data: \(caPEM.base64)}}]\ncontexts: [{name: c, context: {cluster: k}}]\n", .invalidField, "insecure-skip-tls-verify"),
        ("current-context: c\nclusters: [{name: k, cluster: {server: https://x}}]\nusers: [{name: u, user: {token: t, username: a, password: b}}]\ncontexts: [{name: c, context: {cluster: k, user: u}}]\n", .invalidField, "more than one authentication method"),
        ("current-context: c\nclusters: [{name: k, cluster: {server: https://x}}]\nusers: [{name: u, user: {auth-provider: {name: gcp}}}]\ncontexts: [{name: c, context: {cluster: k, user: u}}]\n", .unsupported, "gcp"),
        ("current-context: c\nclusters: [{name: k, cluster: {server: https://x}}]\nusers: [{name: u, user: {client-certificate: missing.crt, client-key: missing.key}}]\ncontexts: [{name: c, context: {cluster: k, user: u}}]\n", .invalidField, "missing.crt does not exist"),
        ("clusters: {not: a list}\n", .invalidYAML, "clusters"),
    ])
    func errors(yaml: String, kind: KubeConfigError.Kind, fragment: String) throws {
        let dir = try TemporaryDirectory()
        let path = try dir.write("config", yaml)
        let error = try #require(throws: KubeConfigError.self) {
            try KubeConfigLoader.load(kubeconfig: path, context: nil, environment: [:])
        }
        #expect(error.kind == kind)
        #expect(error.description.contains(fragment), "\(error.description)")
        #expect(error.description.contains(path), "the message names the file: \(error.description)")
    }

    @Test("a missing --kubeconfig and an empty KUBECONFIG list are reported")
    func missingFiles() throws {
        #expect(throws: KubeConfigError.self) { try KubeConfigLoader.load(kubeconfig: "/nonexistent/config", context: nil, environment: [:]) }
        let error = try #require(throws: KubeConfigError.self) {
            try KubeConfigLoader.load(kubeconfig: nil, context: nil, environment: ["KUBECONFIG": "/nonexistent/a:/nonexistent/b"])
        }
        #expect(error.kind == .noConfiguration)
    }

    @Test("exec users become ExecConfig; the command resolves relative to the file only when it has a slash")
    func execStanza() throws {
        let dir = try TemporaryDirectory()
        let path = try dir.write("config", """
            current-context: c
            clusters: [{name: k, cluster: {server: "https://eks.example.com", certificate-authority-data: \(Self.caPEM.base64)}}]
            users:
            - name: u
              user:
                exec:
                  apiVersion: client.authentication.k8s.io/v1beta1
                  command: bin/get-token
                  args: [--cluster, prod]
                  env: [{name: AWS_PROFILE, value: prod}]
                  installHint: install it from the wiki
                  provideClusterInfo: true
            contexts: [{name: c, context: {cluster: k, user: u}}]
            """)
        let config = try KubeConfigLoader.load(kubeconfig: path, context: nil, environment: [:])
        guard case .exec(let exec) = config.auth else {
            Issue.record("expected exec auth, got \(config.auth)")
            return
        }
        #expect(exec.command == dir.file("bin/get-token"))
        #expect(exec.args == ["--cluster", "prod"])
        #expect(exec.env == [.init(name: "AWS_PROFILE", value: "prod")])
        #expect(exec.apiVersion == "client.authentication.k8s.io/v1beta1")
        #expect(exec.cluster?.server == "https://eks.example.com")
        #expect(exec.cluster?.certificateAuthorityData == Self.caPEM.base64)
    }
}

@Suite("in-cluster configuration")
struct InClusterConfigTests {
    static func serviceAccount(namespace: String? = "kate") throws -> TemporaryDirectory {
        let dir = try TemporaryDirectory()
        try dir.write("token", "sa-token")
        try dir.write("ca.crt", KubeConfigTests.caPEM)
        if let namespace { try dir.write("namespace", namespace) }
        return dir
    }

    @Test("host and port from the environment; IPv6 hosts are bracketed", arguments: [
        ("10.96.0.1", "443", "https://10.96.0.1:443"),
        ("fd00:10:96::1", "443", "https://[fd00:10:96::1]:443"),
        ("kubernetes.default.svc", "6443", "https://kubernetes.default.svc:6443"),
    ])
    func hostAndPort(host: String, port: String, expected: String) throws {
        let sa = try Self.serviceAccount()
        let config = try KubeConfigLoader.inCluster(
            environment: ["KUBERNETES_SERVICE_HOST": host, "KUBERNETES_SERVICE_PORT": port], serviceAccountDirectory: sa.path
        )
        #expect(config.server == expected)
        #expect(config.auth == .tokenFile(sa.file("token")))
        #expect(config.tls.additionalTrustRoots == [.file(sa.file("ca.crt"))])
        #expect(config.tls.useSystemTrustStore == false)
        #expect(config.namespace == "kate")
    }

    @Test("not in a cluster: a missing variable, a bad port, a missing token")
    func notInCluster() throws {
        let sa = try Self.serviceAccount(namespace: nil)
        for env in [["KUBERNETES_SERVICE_HOST": "10.0.0.1"], ["KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "https"]] {
            let error = try #require(throws: KubeConfigError.self) { try KubeConfigLoader.inCluster(environment: env, serviceAccountDirectory: sa.path) }
            #expect(error.kind == .notInCluster)
        }
        let empty = try TemporaryDirectory()
        let error = try #require(throws: KubeConfigError.self) {
            try KubeConfigLoader.inCluster(environment: ["KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443"], serviceAccountDirectory: empty.path)
        }
        #expect(error.description.contains("automountServiceAccountToken"))
        // No namespace file: "default", as client-go.
        let config = try KubeConfigLoader.inCluster(environment: ["KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443"], serviceAccountDirectory: sa.path)
        #expect(config.namespace == "default")
    }

    @Test("automatic: in-cluster unless a kubeconfig is named by flag or KUBECONFIG")
    func automatic() throws {
        let sa = try Self.serviceAccount()
        let dir = try TemporaryDirectory()
        let kubeconfig = try dir.write("config", """
            current-context: c
            clusters: [{name: k, cluster: {server: "https://laptop.example.com"}}]
            contexts: [{name: c, context: {cluster: k}}]
            """)
        let pod = ["KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443", "HOME": dir.path]
        let inCluster = try KubeConfigLoader.automatic(kubeconfig: nil, context: nil, environment: pod, serviceAccountDirectory: sa.path)
        #expect(inCluster.server == "https://10.96.0.1:443")
        let flag = try KubeConfigLoader.automatic(kubeconfig: kubeconfig, context: nil, environment: pod, serviceAccountDirectory: sa.path)
        #expect(flag.server == "https://laptop.example.com")
        var withEnv = pod
        withEnv["KUBECONFIG"] = kubeconfig
        #expect(try KubeConfigLoader.automatic(kubeconfig: nil, context: nil, environment: withEnv, serviceAccountDirectory: sa.path).server == "https://laptop.example.com")
        let laptop = try KubeConfigLoader.automatic(kubeconfig: kubeconfig, context: nil, environment: [:], serviceAccountDirectory: sa.path)
        #expect(laptop.server == "https://laptop.example.com")
    }
}
