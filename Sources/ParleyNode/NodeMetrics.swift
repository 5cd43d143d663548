import CoreMetrics
import Metrics
import ParleyStore

/// The node's metrics, through swift-metrics: whichever backend the executable bootstrapped receives them.
struct NodeMetrics: Sendable {
    func received(tenant: String, peer: String, count: Int = 1) {
        Counter(label: "parley_messages_received_total", dimensions: [("tenant", tenant), ("peer", peer)]).increment(by: count)
    }
    func sent(tenant: String, peer: String, count: Int = 1) {
        Counter(label: "parley_messages_sent_total", dimensions: [("tenant", tenant), ("peer", peer)]).increment(by: count)
    }
    func delivered(tenant: String, peer: String, count: Int = 1) {
        Counter(label: "parley_messages_delivered_total", dimensions: [("tenant", tenant), ("peer", peer)]).increment(by: count)
    }
    func failed(tenant: String, peer: String, reason: String, count: Int = 1) {
        Counter(label: "parley_messages_failed_total", dimensions: [("tenant", tenant), ("peer", peer), ("reason", reason)]).increment(by: count)
    }
    func retried(tenant: String, peer: String, count: Int = 1) {
        Counter(label: "parley_messages_retried_total", dimensions: [("tenant", tenant), ("peer", peer)]).increment(by: count)
    }
    func queueDepth(peer: String, depth: Int) {
        Gauge(label: "parley_outbox_depth", dimensions: [("peer", peer)]).record(depth)
    }
    func egressDepth(tenant: String, depth: Int) {
        Gauge(label: "parley_egress_depth", dimensions: [("tenant", tenant)]).record(depth)
    }
    /// Store commits and write-ahead log frames (pages) written since the last call.
    func storeWrites(_ writes: StoreWriteStatistics) {
        // Created even at zero, so a scrape shows both series from the start.
        Counter(label: "parley_store_commits_total").increment(by: max(0, writes.commits))
        Counter(label: "parley_store_wal_frames_total").increment(by: max(0, writes.walFrames))
    }
    /// Time from webhook receipt to the native send on the far side, as seen by each hop.
    func latency(_ stage: String, tenant: String, peer: String, nanoseconds: Int64) {
        Timer(label: "parley_latency_seconds", dimensions: [("stage", stage), ("tenant", tenant), ("peer", peer)], preferredDisplayUnit: .seconds)
            .recordNanoseconds(nanoseconds)
    }
}
