/// A bidirectional, ordered byte stream: a TCP connection (`TCPStream`) or TLS on top of one (`TLSStream`).
///
/// HTTP code is written against this protocol so it never knows whether TLS is in play.
/// One task may read while another writes (full duplex). Two concurrent readers, or two writers, get
/// interleaved bytes in no defined order: callers serialize reads and writes per direction.
public protocol ByteStream: AnyObject, Sendable {
    /// Reads up to `maxBytes`; returns `[]` at end of stream. Throws `NetError` (`.timedOut` when the deadline passes).
    func read(maxBytes: Int, deadline: ContinuousClock.Instant) async throws -> [UInt8]
    /// Writes all of `bytes` or throws `NetError` (`.timedOut` when the deadline passes first).
    func write(_ bytes: [UInt8], deadline: ContinuousClock.Instant) async throws
    /// Closes the stream. TLS sends close_notify first (best effort). Pending reads and writes fail with `.closed`.
    func close() async
    /// The peer as "127.0.0.1:5555" or "[::1]:5555".
    var remoteAddress: String { get }
}
