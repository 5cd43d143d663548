import Synchronization

/// What the node did with recent envelopes — sizes and ids only, never content — for `parley demo` and operators
/// (`GET /debug/trace`).
public struct TraceEntry: Codable, Sendable {
    public var seq: Int
    public var at: Int64
    /// `sealed` (ingress), `sent` (to a peer), `received` (from a peer), `delivered` (to the app), `refused`.
    public var step: String
    public var tenant: String
    public var peer: String
    public var envelope: String
    public var bytes: Int
    public var detail: String
}

/// A bounded ring of ``TraceEntry``: recording is O(1) (it runs several times per message), reading copies out
/// the entries still held, oldest first.
final class TraceLog: Sendable {
    private struct Ring {
        var next = 0
        var items: [TraceEntry] = []
    }

    private let ring = Mutex(Ring())
    let capacity: Int

    init(capacity: Int = 2048) {
        self.capacity = max(1, capacity)
    }

    func record(_ step: String, tenant: String, peer: String, envelope: String, bytes: Int, detail: String = "") {
        let at = BridgeNode.nowMillis()
        ring.withLock { ring in
            let entry = TraceEntry(seq: ring.next, at: at, step: step, tenant: tenant, peer: peer, envelope: envelope, bytes: bytes, detail: detail)
            if ring.items.count < capacity {
                ring.items.append(entry)
            } else {
                ring.items[ring.next % capacity] = entry
            }
            ring.next += 1
        }
    }

    /// The entries with `seq >= seq` still held, in order.
    func since(_ seq: Int) -> [TraceEntry] {
        ring.withLock { ring in
            let from = max(seq, ring.next - ring.items.count)
            guard from < ring.next else { return [] }
            return (from..<ring.next).map { ring.items[$0 % capacity] }
        }
    }
}
