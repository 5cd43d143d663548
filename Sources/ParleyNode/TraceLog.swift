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

/// A bounded ring of ``TraceEntry``.
final class TraceLog: Sendable {
    private let entries = Mutex<(next: Int, items: [TraceEntry])>((0, []))
    let capacity = 2048

    func record(_ step: String, tenant: String, peer: String, envelope: String, bytes: Int, detail: String = "") {
        entries.withLock { state in
            state.items.append(TraceEntry(seq: state.next, at: BridgeNode.nowMillis(), step: step, tenant: tenant, peer: peer, envelope: envelope, bytes: bytes, detail: detail))
            state.next += 1
            if state.items.count > capacity { state.items.removeFirst(state.items.count - capacity) }
        }
    }

    func since(_ seq: Int) -> [TraceEntry] {
        entries.withLock { state in state.items.filter { $0.seq >= seq } }
    }
}
