import ArgumentParser
import KateKube
import Logging

/// How kate reaches the Kubernetes API: in a Pod, the mounted service account (no flags needed);
/// elsewhere a kubeconfig, as kubectl finds it. Shared by `kate sweep` and `kate webhook`.
struct KubeOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "kubeconfig file. Default: the in-cluster service account when running in a Pod, else KUBECONFIG (several files merged), else ~/.kube/config. [env: KATE_KUBECONFIG]",
            valueName: "file"
        )
    )
    var kubeconfig: String = Environment.string("KATE_KUBECONFIG") ?? ""

    @Option(help: ArgumentHelp("kubeconfig context to use instead of current-context. [env: KATE_CONTEXT]", valueName: "name"))
    var context: String = Environment.string("KATE_CONTEXT") ?? ""

    /// The resolved cluster configuration: in-cluster when `KUBERNETES_SERVICE_HOST` is set and no
    /// kubeconfig or context was named, otherwise the kubeconfig.
    /// - Throws: `KubeConfigError` naming the file, context and field at fault.
    func clientConfiguration() throws -> KubeClientConfiguration {
        try KubeConfigLoader.automatic(kubeconfig: kubeconfig.isEmpty ? nil : kubeconfig, context: context.isEmpty ? nil : context)
    }

    /// A client for the configured cluster; `fieldManager` shows up in `managedFields` of what kate patches.
    func makeClient(fieldManager: String, logger: Logger) throws -> KubeClient {
        let configuration = try clientConfiguration()
        logger.info("using Kubernetes API", metadata: ["server": "\(configuration.server)", "source": "\(configuration.source)"])
        if configuration.tls.insecureSkipVerify {
            logger.warning("TLS verification of the Kubernetes API is disabled (insecure-skip-tls-verify in the kubeconfig)")
        }
        return KubeClient(configuration: configuration, fieldManager: fieldManager, logger: logger)
    }

    /// Whether a cluster is configured at all (for `--pull-secrets auto`): false only when no kubeconfig exists and
    /// kate is not in a Pod. A kubeconfig that exists but is broken, or one named with `--kubeconfig` that is
    /// missing, throws its `KubeConfigError`: it must not read as "no cluster" and silently turn pull secrets off.
    var hasClusterConfiguration: Bool {
        get throws {
            do {
                _ = try clientConfiguration()
                return true
            } catch let error as KubeConfigError where error.kind == .noConfiguration && kubeconfig.isEmpty {
                return false
            }
        }
    }
}
