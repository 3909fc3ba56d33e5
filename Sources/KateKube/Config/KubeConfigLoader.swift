import Foundation
import KateNet

/// Builds a `KubeClientConfiguration` the way client-go does: in-cluster from the service
/// account, or from kubeconfig files merged as kubectl merges them.
public enum KubeConfigLoader {
    /// Where the kubelet mounts the service-account token, CA and namespace.
    public static let defaultServiceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount"

    /// In-cluster when running in a Pod (`KUBERNETES_SERVICE_HOST` set) and no kubeconfig was named
    /// by flag or `KUBECONFIG`; otherwise the kubeconfig. This is what lets one binary run as a
    /// CronJob and from a laptop.
    public static func automatic(kubeconfig: String?, context: String?) throws -> KubeClientConfiguration {
        try automatic(kubeconfig: kubeconfig, context: context, environment: ProcessInfo.processInfo.environment)
    }

    public static func automatic(
        kubeconfig: String?, context: String?, environment: [String: String],
        serviceAccountDirectory: String = defaultServiceAccountDirectory
    ) throws -> KubeClientConfiguration {
        let namedKubeconfig = !(kubeconfig ?? "").isEmpty || !(environment["KUBECONFIG"] ?? "").isEmpty
        if !namedKubeconfig, context == nil, !(environment["KUBERNETES_SERVICE_HOST"] ?? "").isEmpty {
            return try inCluster(environment: environment, serviceAccountDirectory: serviceAccountDirectory)
        }
        return try load(kubeconfig: kubeconfig, context: context, environment: environment)
    }

    /// `--kubeconfig` if given, else every file in `KUBECONFIG` (colon-separated, missing ones
    /// skipped, merged), else `~/.kube/config`; then the named or current context.
    public static func load(kubeconfig: String?, context: String?, environment: [String: String]) throws -> KubeClientConfiguration {
        let paths = try kubeconfigPaths(explicit: kubeconfig, environment: environment)
        let merged = try MergedKubeConfig(files: paths.map { ($0, try KubeConfigFile.load(path: $0)) })
        return try merged.clientConfiguration(context: context)
    }

    static func kubeconfigPaths(explicit: String?, environment: [String: String]) throws -> [String] {
        if let explicit, !explicit.isEmpty {
            guard FileManager.default.fileExists(atPath: explicit) else {
                throw KubeConfigError(.noConfiguration, "the kubeconfig given with --kubeconfig does not exist", file: explicit)
            }
            return [explicit]
        }
        if let list = environment["KUBECONFIG"], !list.isEmpty {
            var seen = Set<String>()
            let existing = list.split(separator: ":").map(String.init)
                .filter { !$0.isEmpty && FileManager.default.fileExists(atPath: $0) && seen.insert($0).inserted }
            guard !existing.isEmpty else {
                throw KubeConfigError(.noConfiguration, "none of the files in KUBECONFIG (\(list)) exists")
            }
            return existing
        }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        let path = (home as NSString).appendingPathComponent(".kube/config")
        guard FileManager.default.fileExists(atPath: path) else {
            throw KubeConfigError(
                .noConfiguration,
                "no cluster configuration: not in a cluster (KUBERNETES_SERVICE_HOST unset), no --kubeconfig, no KUBECONFIG, and \(path) does not exist"
            )
        }
        return [path]
    }

    /// client-go's `rest.InClusterConfig`, with the service-account directory as a parameter so tests
    /// can point it at a temporary directory.
    public static func inCluster(environment: [String: String], serviceAccountDirectory: String) throws -> KubeClientConfiguration {
        guard let host = environment["KUBERNETES_SERVICE_HOST"], !host.isEmpty,
              let port = environment["KUBERNETES_SERVICE_PORT"], !port.isEmpty
        else {
            throw KubeConfigError(.notInCluster, "not running in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must both be set")
        }
        guard let portNumber = Int(port), (1...65535).contains(portNumber) else {
            throw KubeConfigError(.notInCluster, "KUBERNETES_SERVICE_PORT is not a port number: \(port)")
        }
        let tokenPath = (serviceAccountDirectory as NSString).appendingPathComponent("token")
        let caPath = (serviceAccountDirectory as NSString).appendingPathComponent("ca.crt")
        let namespacePath = (serviceAccountDirectory as NSString).appendingPathComponent("namespace")
        // Fail now, with the path, rather than with a 401 on the first call.
        guard FileManager.default.isReadableFile(atPath: tokenPath) else {
            throw KubeConfigError(
                .notInCluster,
                "service-account token \(tokenPath) is missing or unreadable; is automountServiceAccountToken disabled for this Pod?"
            )
        }
        let namespace = (try? String(contentsOfFile: namespacePath, encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
        // JoinHostPort: an IPv6 service IP must be bracketed in the URL.
        let hostPart = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        var tls = TLSClientConfiguration(useSystemTrustStore: true)
        if FileManager.default.fileExists(atPath: caPath) {
            tls.useSystemTrustStore = false
            tls.additionalTrustRoots = [.file(caPath)]
        }
        return KubeClientConfiguration(
            server: "https://\(hostPart):\(portNumber)",
            tls: tls,
            auth: .tokenFile(tokenPath),
            namespace: (namespace?.isEmpty ?? true) ? "default" : namespace ?? "default",
            source: "in-cluster service account (\(serviceAccountDirectory))"
        )
    }
}
