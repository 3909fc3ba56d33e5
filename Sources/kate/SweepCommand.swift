import ArgumentParser

// SEED written by the lead; the sweeper helper owns and replaces this file.
struct SweepCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "sweep", abstract: "Find pods running stale digests and roll their owners.")
    @OptionGroup var global: GlobalOptions
    func run() async throws {}
}
