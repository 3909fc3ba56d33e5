import ArgumentParser

// SEED written by the lead; the registry helper owns and replaces this file.
struct ResolveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "resolve", abstract: "Resolve image tags to registry digests.")
    @OptionGroup var global: GlobalOptions
    func run() async throws {}
}
