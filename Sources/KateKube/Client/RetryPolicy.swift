import KateNet

/// `KubeClient`'s retries use KateNet's one policy (shared with the registry client).
///
/// Idempotent calls (GET, LIST) retry on connection failures, 5xx and 429. Writes (PATCH, POST,
/// DELETE) retry only when the connection failed before the request was sent, since a retried
/// write after an ambiguous failure could act twice; a 429 on a write is returned to the caller
/// with its Retry-After.
public typealias RetryPolicy = KateNet.RetryPolicy
