import Foundation
import Logging
import ParleyCore
import ParleyCrypto
import ParleyKit
import ParleyStore
import Prometheus
import ServiceLifecycle
import Synchronization

/// A failure to start a node, with a stable code.
public struct NodeError: Error, Sendable, CustomStringConvertible {
    public var code: String
    public var message: String
    public init(_ code: String, _ message: String) {
        self.code = code
        self.message = message
    }
    public var description: String { "\(message) [\(code)]" }
}

/// A configured peer at run time.
struct PeerRuntime: Sendable {
    let config: PeerConfig
    let publicKey: NodePublicKey
}

/// One operator's bridge node: ingress webhooks, federation with peers, egress to the native API.
///
/// Build it with ``init(config:adapterLoader:logger:registry:)`` and run ``services`` in a `ServiceGroup`.
public final class BridgeNode: Sendable {
    public let config: NodeConfig
    let logger: Logger
    let store: ParleyStore
    let nodeKey: NodeSigningKey
    let contacts: ContactDirectory
    let queues: QueueGauge
    let tenants: [String: TenantRuntime]
    let tenantsByDomain: [String: TenantRuntime]
    let peers: [String: PeerRuntime]
    /// Operator domain → the peer node that serves it (our own tenants route to ourselves).
    let routes: [String: String]
    let http: PooledHTTPClient
    let metrics = NodeMetrics()
    let registry: PrometheusCollectorRegistry?
    let keys: KeyDirectory
    let sealing: Sealing
    let wakeups: Wakeups
    let referenceWaits: ReferenceWaits
    /// Concurrent webhooks share their commits: each caller's events, committed with whatever else is waiting.
    let ingress: IngressCommitter
    let trace = TraceLog()
    let ready = Atomic<Bool>(false)
    let boundPort = Atomic<Int>(0)
    /// The store's write statistics as of the last metrics scrape, so each scrape adds only what is new.
    private let publishedStoreWrites = Mutex(StoreWriteStatistics())

    /// Opens the store, loads the signing key and the tenants' adapters. `adapterLoader` turns a config's
    /// adapter source into an adapter (the executable passes one that knows where bundled adapters live).
    public init(
        config: NodeConfig, adapterLoader: (AdapterSource) throws -> any Adapter, logger: Logger,
        registry: PrometheusCollectorRegistry? = nil
    ) throws {
        self.config = config
        self.logger = logger
        self.registry = registry
        try FileManager.default.createDirectory(atPath: config.dataDirectory, withIntermediateDirectories: true)
        if !FileManager.default.fileExists(atPath: config.signingKeyFile) {
            guard config.createSigningKey else {
                throw NodeError("node.no_signing_key", "\(config.file): node.signing_key_file \(config.signingKeyFile) does not exist (create it with `parley keys generate`, or set create_signing_key = true)")
            }
            try NodeSigningKey.generate().write(toFile: config.signingKeyFile)
        }
        self.nodeKey = try NodeSigningKey(contentsOfFile: config.signingKeyFile)
        self.store = try ParleyStore(path: config.dataDirectory + "/parley.sqlite", logger: logger)

        var tenants: [String: TenantRuntime] = [:], byDomain: [String: TenantRuntime] = [:]
        var adapterNames: [String: String] = [:]
        for tenantConfig in config.tenants {
            let adapter = try adapterLoader(tenantConfig.adapter)
            let runtime = TenantRuntime(config: tenantConfig, adapter: adapter)
            tenants[tenantConfig.name] = runtime
            byDomain[tenantConfig.domain] = runtime
            adapterNames[tenantConfig.name] = adapter.name
        }
        self.tenants = tenants
        self.tenantsByDomain = byDomain

        var peers: [String: PeerRuntime] = [:], routes: [String: String] = [:]
        for peer in config.peers {
            let key = try NodePublicKey(base64: peer.signingKey)
            peers[peer.domain] = PeerRuntime(config: peer, publicKey: key)
            for served in peer.serves { routes[served] = peer.domain }
        }
        // Our own tenants are reached through our own federation endpoint, so same-node traffic takes the same path.
        let selfPeer = PeerConfig(domain: config.domain, url: config.publicURL, signingKey: nodeKey.publicKey.base64, serves: config.tenants.map(\.domain))
        peers[config.domain] = PeerRuntime(config: selfPeer, publicKey: nodeKey.publicKey)
        for tenant in config.tenants { routes[tenant.domain] = config.domain }
        self.peers = peers
        self.routes = routes

        self.http = PooledHTTPClient()
        self.keys = KeyDirectory(store: store, nodeKey: nodeKey, http: http, cacheEntries: config.limits.keyCacheEntries, logger: logger)
        self.contacts = ContactDirectory(store: store, cacheEntries: config.limits.keyCacheEntries)
        self.queues = QueueGauge(store: store, limit: config.limits.maxQueuePerPeer)
        self.sealing = Sealing(pairCacheEntries: config.limits.pairCacheEntries)
        self.wakeups = Wakeups()
        self.ingress = IngressCommitter(store: store, maxBatch: 64)
        self.referenceWaits = ReferenceWaits(limitMillis: Int64(config.limits.referenceWaitSeconds) * 1000)
        logger.info("node configured", metadata: [
            "domain": .string(config.domain), "tenants": .string(adapterNames.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: ",")),
            "peers": .string(config.peers.map(\.domain).joined(separator: ",")), "key": .string(nodeKey.keyId.hex),
        ])
    }

    /// The long-running parts: the HTTP server, one sender per peer, one egress worker per tenant, retention.
    public func services(onListening: @escaping @Sendable (Int) async -> Void = { _ in }) -> [any Service] {
        var services: [any Service] = [HTTPService(node: self, onListening: onListening)]
        for tenant in tenants.values.sorted(by: { $0.name < $1.name }) {
            for peer in peers.keys.sorted() {
                services.append(PeerSender(node: self, tenant: tenant, peer: peer))
            }
            services.append(EgressWorker(node: self, tenant: tenant))
            services.append(RetentionService(node: self, tenant: tenant))
        }
        return services
    }

    /// Brings the store's commit and log-frame counters up to date in the metrics (`parley_store_commits_total`,
    /// `parley_store_wal_frames_total`); called before each scrape, so the writer pays nothing per commit for them.
    func publishStoreStatistics() {
        let now = store.writeStatistics
        let new = publishedStoreWrites.withLock { published in
            defer { published = now }
            return StoreWriteStatistics(commits: now.commits - published.commits, walFrames: now.walFrames - published.walFrames)
        }
        metrics.storeWrites(new)
    }

    /// Closes the HTTP client and the store; call after the service group has finished.
    public func shutdown() async {
        await http.shutdown()
        try? store.close()
    }

    /// The node's public signing key (base64), as peers pin it.
    public var signingPublicKey: String { nodeKey.publicKey.base64 }

    /// The correlation id of a message in logs: the start of its envelope id, which both the origin and the
    /// destination node know (it names the ciphertext, never the content).
    static func correlationId(_ envelopeId: some Sequence<UInt8>) -> Logger.MetadataValue {
        .string(Hex.encode(Array(envelopeId.prefix(8))))
    }

    /// A worker is the only one claiming its rows (one node process per data directory), so leases found when it
    /// starts were left by a run that died: end them, and that run's work is retried now rather than in a minute.
    func endEarlierLeases(tenant: String, peer: String?) async {
        do {
            let ended = try await store.endLeases(tenant: tenant, outboxPeer: peer, now: Self.nowMillis())
            if ended > 0 {
                logger.notice("resuming work an earlier run had claimed", metadata: [
                    "tenant": .string(tenant), "queue": .string(peer.map { "outbox:\($0)" } ?? "inbox"), "rows": .stringConvertible(ended),
                ])
            }
        } catch {
            logger.error("could not end earlier leases", metadata: ["tenant": .string(tenant), "error": .string("\(error)")])
        }
    }

    static func nowMillis() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    func peerFor(domain: String) -> PeerRuntime? { routes[domain].flatMap { peers[$0] } }

    /// Backoff with full jitter: base·2^attempt, capped.
    func backoffMillis(attempt: Int) -> Int64 {
        let base = Double(config.limits.retryBaseMilliseconds)
        let cap = Double(config.limits.retryMaxMilliseconds)
        let ceiling = min(cap, base * pow(2, Double(min(attempt, 30))))
        return Int64(Double.random(in: ceiling / 2...ceiling))
    }
}

/// When each out-of-order event (one naming a message not seen yet) was first refused, so it is awaited for a
/// bounded time. In memory: after a restart an event waits one more period, which only delays its final answer.
final class ReferenceWaits: Sendable {
    private let firstSeen = Mutex<[String: Int64]>([:])
    let limitMillis: Int64

    init(limitMillis: Int64) { self.limitMillis = limitMillis }

    /// Whether the event `key` may still wait for the message it names; `false` once it has waited `limitMillis`.
    func shouldWait(_ key: String, now: Int64) -> Bool {
        firstSeen.withLock { seen in
            if seen.count > 10_000 { seen = seen.filter { now - $0.value < 2 * limitMillis } }
            let first = seen[key] ?? now
            seen[key] = first
            if now - first < limitMillis { return true }
            seen[key] = nil
            return false
        }
    }
}

/// Lets producers wake the worker that consumes their rows, so idle workers sleep instead of polling hard.
final class Wakeups: Sendable {
    private struct State {
        var waiters: [String: [CheckedContinuation<Void, Never>]] = [:]
        /// Keys signalled while nobody waited: the next wait returns at once.
        var pending: Set<String> = []
    }

    private let state = Mutex(State())

    func signal(_ key: String) {
        let woken = state.withLock { state in
            let woken = state.waiters.removeValue(forKey: key) ?? []
            if woken.isEmpty { state.pending.insert(key) }
            return woken
        }
        for continuation in woken { continuation.resume() }
    }

    /// Waits for a signal on `key`, or `timeout`, whichever comes first.
    func wait(_ key: String, timeout: Duration) async {
        if state.withLock({ $0.pending.remove(key) != nil }) { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withCheckedContinuation { continuation in
                    // One lock for the check and the registration: a signal between them would wait out the timeout.
                    let signalled = self.state.withLock { state in
                        if state.pending.remove(key) != nil { return true }
                        state.waiters[key, default: []].append(continuation)
                        return false
                    }
                    if signalled { continuation.resume() }
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                if !Task.isCancelled { self.signal(key) }
            }
            await group.next()
            group.cancelAll()
        }
    }
}
