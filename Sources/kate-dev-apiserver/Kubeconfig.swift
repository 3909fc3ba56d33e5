import Foundation
import KateNet
import KubeTestServer

/// The kubeconfig kubectl, the Python client and kate read to reach this server.
enum Kubeconfig {
    static func write(to path: String, server: KubeTestServer) throws {
        let ca = Base64.encode(server.caPEM)
        let text = """
            apiVersion: v1
            kind: Config
            clusters:
              - name: kate-dev
                cluster:
                  server: \(server.url)
                  certificate-authority-data: \(ca)
            users:
              - name: kate-dev
                user:
                  token: \(server.token)
            contexts:
              - name: kate-dev
                context:
                  cluster: kate-dev
                  user: kate-dev
                  namespace: default
            current-context: kate-dev

            """
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
            chmod(path, 0o600)
        } catch {
            throw SetupError(message: "cannot write the kubeconfig \(path): \(error.localizedDescription)")
        }
    }
}

struct SetupError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
