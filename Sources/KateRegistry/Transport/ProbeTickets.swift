/// The half-open probe tickets a lookup holds, by registry host, carried to its requests as a task-local value
/// (a single-flight lookup runs in a task of its own, which inherits it from the caller that started it).
enum ProbeTickets {
    @TaskLocal static var current: [String: UInt64] = [:]
}
