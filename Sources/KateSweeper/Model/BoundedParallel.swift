/// Structured fan-out with a cap on in-flight tasks, so a sweep of 10,000 pods does not open
/// 10,000 connections at once. Results come back in input order.
enum BoundedParallel {
    static func map<Input: Sendable, Output: Sendable>(
        _ inputs: [Input], concurrency: Int, _ transform: @escaping @Sendable (Input) async -> Output
    ) async -> [Output] {
        guard !inputs.isEmpty else { return [] }
        let width = max(1, min(concurrency, inputs.count))
        return await withTaskGroup(of: (Int, Output).self) { group in
            var results = [Output?](repeating: nil, count: inputs.count)
            var next = 0
            func startNext() {
                let index = next
                next += 1
                group.addTask {
                    // Await into a local, then build the tuple (scripts/lint/async-tuples.py: Swift 6.3.1 -O).
                    let output = await transform(inputs[index])
                    return (index, output)
                }
            }
            for _ in 0..<width { startNext() }
            while let (index, output) = await group.next() {
                results[index] = output
                if next < inputs.count { startNext() }
            }
            return results.compactMap { $0 }
        }
    }
}
