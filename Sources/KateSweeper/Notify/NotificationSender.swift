import Foundation
import KateNet
import Logging

/// `--notify-url` and the bounds on sending. Notifications never fail a sweep and never hold it up
/// for longer than `totalBudget`: what cannot be sent by then becomes a report warning and
/// `kate_sweep_notifications_total{outcome="failed"|"skipped"}`.
public struct NotifyOptions: Sendable {
    public var targets: [NotifyTarget]
    /// Notifications sent one by one per URL per sweep; the rest are counted in one summary POST.
    public var maxPerSweep: Int
    /// POSTs in flight at once (over all URLs).
    public var concurrency: Int
    /// One attempt's budget: connect, TLS, send and answer.
    public var postTimeout: Duration
    /// All notifications of a sweep, retries included.
    public var totalBudget: Duration
    /// Attempts and backoff; a 429's or 503's `Retry-After` is honoured up to `maxRetryAfter`.
    public var retry: RetryPolicy
    public var proxy: ProxyConfiguration?
    /// https trust: the system CA bundle by default (tests add their loopback CA).
    public var tls: TLSClientConfiguration = TLSClientConfiguration()

    public init(
        targets: [NotifyTarget], maxPerSweep: Int = 100, concurrency: Int = 4, postTimeout: Duration = .seconds(5), totalBudget: Duration = .seconds(10),
        retry: RetryPolicy = RetryPolicy(maxAttempts: 3, initialBackoff: .milliseconds(500), maxBackoff: .seconds(4), maxRetryAfter: .seconds(5)),
        proxy: ProxyConfiguration? = nil
    ) {
        self.targets = targets
        self.maxPerSweep = max(1, maxPerSweep)
        self.concurrency = max(1, concurrency)
        self.postTimeout = postTimeout
        self.totalBudget = totalBudget
        self.retry = retry
        self.proxy = proxy
    }
}

/// What became of a sweep's notifications.
public struct NotifyOutcome: Sendable, Equatable {
    public var sent = 0
    /// Refused (a 4xx other than 429) or out of attempts.
    public var failed = 0
    /// Never attempted: the total budget was used up first.
    public var skipped = 0
    /// One per URL with failures, naming only its scheme and host (URLs carry tokens).
    public var warnings: [String] = []
}

/// Sends notifications with kate's own HTTP client (KateNet; https verified against the system CA bundle).
public struct NotificationSender: Sendable {
    public let options: NotifyOptions
    public let logger: Logger

    public init(options: NotifyOptions, logger: Logger) {
        self.options = options
        self.logger = logger
    }

    struct Post: Sendable {
        var target: Int
        var body: [UInt8]
    }

    enum Result: Sendable {
        case sent
        case failed(String)
        case skipped
    }

    /// - Throws: only `CancellationError`, when the sweep itself was cancelled.
    public func send(_ notifications: [SweepNotification], sweepTime: Date) async throws -> NotifyOutcome {
        guard !notifications.isEmpty, !options.targets.isEmpty else { return NotifyOutcome() }
        var posts: [Post] = []
        for (index, target) in options.targets.enumerated() {
            posts += notifications.prefix(options.maxPerSweep).map { Post(target: index, body: NotifyBody.encode($0, as: target.format)) }
            if notifications.count > options.maxPerSweep {
                let dropped = Array(notifications.dropFirst(options.maxPerSweep))
                posts.append(Post(target: index, body: NotifyBody.summary(dropped, sweepTime: SweepNotifications.rfc3339(sweepTime), as: target.format)))
            }
        }
        let client = HTTPClient(
            configuration: .init(tls: options.tls, connectTimeout: min(options.postTimeout, .seconds(5)), proxy: options.proxy), logger: logger)
        let deadline = ContinuousClock.now + options.totalBudget
        let results = await sendAll(posts, client: client, deadline: deadline)
        await client.shutdown()
        try Task.checkCancellation()

        var outcome = NotifyOutcome()
        var problems: [Int: (count: Int, last: String)] = [:]
        for (post, result) in zip(posts, results) {
            switch result {
            case .sent: outcome.sent += 1
            case .failed(let why):
                outcome.failed += 1
                problems[post.target, default: (0, why)].count += 1
                problems[post.target]?.last = why
            case .skipped:
                outcome.skipped += 1
                problems[post.target, default: (0, "")].count += 1
                problems[post.target]?.last = "not sent: the \(options.totalBudget) notification budget was used up"
            }
        }
        let perTarget = Dictionary(grouping: posts.indices) { posts[$0].target }.mapValues(\.count)
        for (target, problem) in problems.sorted(by: { $0.key < $1.key }) {
            outcome.warnings.append(
                "notifications to \(options.targets[target].redacted): \(problem.count) of \(perTarget[target] ?? 0) not delivered (last: \(problem.last)); the sweep itself is unaffected")
        }
        logger.info("notifications: \(outcome.sent) sent, \(outcome.failed) failed, \(outcome.skipped) skipped")
        return outcome
    }

    /// At most `concurrency` POSTs at once; results in `posts` order.
    private func sendAll(_ posts: [Post], client: HTTPClient, deadline: ContinuousClock.Instant) async -> [Result] {
        await withTaskGroup(of: (Int, Result).self) { group in
            var results = [Result](repeating: .skipped, count: posts.count)
            var next = 0
            func startNext() {
                guard next < posts.count else { return }
                let index = next, post = posts[index]
                next += 1
                group.addTask {
                    let result = await self.deliver(post, client: client, deadline: deadline)
                    return (index, result)
                }
            }
            for _ in 0..<min(options.concurrency, posts.count) { startNext() }
            while let (index, result) = await group.next() {
                results[index] = result
                if ContinuousClock.now < deadline, !Task.isCancelled { startNext() }
            }
            return results
        }
    }

    /// One POST with its retries, within the sweep's deadline.
    private func deliver(_ post: Post, client: HTTPClient, deadline: ContinuousClock.Instant) async -> Result {
        let target = options.targets[post.target]
        let request = HTTPClientRequest(
            method: "POST", url: target.url, headers: ["Content-Type": "application/json", "User-Agent": KateVersion.userAgent], body: post.body)
        var attempt = 1
        while true {
            guard ContinuousClock.now < deadline else { return attempt == 1 ? .skipped : .failed("budget used up after \(attempt - 1) attempts") }
            let why: String
            var retryAfter: Duration?
            do {
                let response = try await client.execute(request, deadline: min(ContinuousClock.now + options.postTimeout, deadline))
                if (200..<300).contains(response.status) { return .sent }
                why = "HTTP \(response.status)"
                // Only a busy or failing receiver may do better later; 4xx is a wrong URL or body.
                guard response.status == 429 || response.status >= 500 else { return .failed(why) }
                retryAfter = RetryAfter.parse(response.headers["Retry-After"])
            } catch is CancellationError {
                return .failed("cancelled")
            } catch {
                why = "\(error)"
            }
            guard let delay = options.retry.delay(afterAttempt: attempt, retryAfter: retryAfter) else {
                return .failed("\(why) after \(attempt) attempt\(attempt == 1 ? "" : "s")")
            }
            guard ContinuousClock.now + delay < deadline else { return .failed("\(why); a retry in \(delay) would pass the notification budget") }
            do {
                try await Task.sleep(for: delay)
            } catch {
                return .failed("cancelled")
            }
            attempt += 1
        }
    }
}
