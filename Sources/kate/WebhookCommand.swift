import ArgumentParser

// SEED written by the lead; the net-http helper owns and replaces this file.
struct WebhookCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "webhook", abstract: "Serve the mutating admission webhook over TLS.")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var admission: AdmissionOptions
    func run() async throws {}
}
