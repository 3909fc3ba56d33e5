// bench-sweep: the shipped `kate sweep` binary against the old tool's loop (sequential
// `skopeo inspect` per pod), with a private registry behind a 50 ms-per-round-trip proxy, then kate
// alone at 10,000 pods / 500 tags (100,000 / 5,000 with BENCH_HUGE=1).
//
// `bench-sweep --repeat N`: N report and N dry-run sweeps of the 70-pod fleet; fails on any crash
// or missing pod (scripts/sweep-repeat.sh).
import Foundation

let arguments = Array(CommandLine.arguments.dropFirst())
do {
    if arguments.first == "--repeat" {
        guard arguments.count == 2, let count = Int(arguments[1]), count > 0 else {
            throw BenchError("usage: bench-sweep --repeat N   (N > 0)")
        }
        try await SweepRepeat.main(count: count)
    } else {
        try await BenchDriver.main()
    }
} catch {
    FileHandle.standardError.write(Data("bench-sweep failed: \(error)\n".utf8))
    exit(1)
}
