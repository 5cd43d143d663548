import AsyncHTTPClient
import Foundation
import GRDB
import Logging
import NIOCore
import Synchronization

/// Batches queued updates into native webhook bodies and POSTs them, signed, until the node answers 200.
/// The queue is in SQLite, so a restarted simulator resumes retrying where it stopped.
final class WebhookDispatcher: Sendable {
    let engine: SimEngine
    let client: HTTPClient
    let faults: FaultSwitches
    private let flushRequested = Mutex(false)

    init(engine: SimEngine, client: HTTPClient, faults: FaultSwitches) {
        self.engine = engine
        self.client = client
        self.faults = faults
    }

    private var config: SimulatorConfig { engine.config }
    private var logger: Logger { engine.logger }

    /// Batch everything pending at the next tick regardless of the batching window.
    func flush() { flushRequested.withLock { $0 = true } }

    /// Runs until the task is cancelled.
    func run() async {
        while !Task.isCancelled {
            let worked = await tick()
            if !worked { try? await Task.sleep(for: .milliseconds(10)) }
        }
    }

    /// One pass: form due batches, then attempt due deliveries. Returns whether anything was attempted.
    @discardableResult
    func tick() async -> Bool {
        do {
            try await formBatches()
            return try await deliverDue()
        } catch {
            // Cancellation at shutdown is expected; anything else is worth a log line.
            if !Task.isCancelled, !(error is CancellationError) {
                logger.error("webhook dispatcher failed", metadata: ["error": "\(error)"])
            }
            return false
        }
    }

    private func formBatches() async throws {
        let force = flushRequested.withLock { v in defer { v = false }; return v }
        let now = SimEngine.nowMs()
        let window = RetrySchedule.milliseconds(config.batchWindow)
        let maxBatch = config.maxBatch
        let engine = self.engine
        try await engine.store.pool.write { db in
            let pending = try SimStore.pendingEvents(db, now: now)
            var order: [String] = []
            var byAccount: [String: [SimStore.PendingEvent]] = [:]
            for e in pending {
                if byAccount[e.account] == nil { order.append(e.account) }
                byAccount[e.account, default: []].append(e)
            }
            for account in order {
                var rest = byAccount[account] ?? []
                while let first = rest.first, rest.count >= maxBatch || now - first.availableMs >= window || force {
                    let batch = Array(rest.prefix(maxBatch))
                    rest.removeFirst(batch.count)
                    try SimStore.createDelivery(db, account: account, body: engine.webhookBody(account: account, events: batch, now: now),
                                                eventIds: batch.map(\.id), now: now)
                }
            }
        }
    }

    private func deliverDue() async throws -> Bool {
        let now = SimEngine.nowMs()
        // The real services do not promise order: with `reorderWebhooks` armed, POSTs wait until none has formed
        // for `delayMs`, then go out newest first, each retried on its own instead of holding back the rest.
        let reorder = faults.peek("reorderWebhooks")
        let due = try await engine.store.pool.read { db in
            try reorder.map { try SimStore.dueDeliveriesNewestFirst(db, now: now, quietMs: Int64($0.delayMs ?? 500), limit: 32) }
                ?? SimStore.dueDeliveries(db, now: now, limit: 32)
        }
        for d in due {
            if Task.isCancelled { return true }
            if reorder != nil { _ = faults.take("reorderWebhooks") }
            await attempt(d)
        }
        return !due.isEmpty
    }

    private func attempt(_ d: SimStore.DueDelivery) async {
        var request = HTTPClientRequest(url: config.webhookURL)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "facebookexternalua")
        request.headers.add(name: "X-Hub-Signature-256", value: SimSHA256.hubSignature(secret: config.appSecret, body: d.body))
        request.body = .bytes(ByteBuffer(bytes: d.body))
        var status: Int?
        var errorText: String?
        var retryAfterMs: Int64 = 0
        do {
            let timeout = TimeAmount.milliseconds(RetrySchedule.milliseconds(config.webhookTimeout))
            let response = try await client.execute(request, timeout: timeout)
            status = Int(response.status.code)
            if let ra = response.headers.first(name: "Retry-After"), let secs = Int64(ra.trimmingCharacters(in: .whitespaces)) {
                retryAfterMs = secs * 1000
            }
            _ = try? await response.body.collect(upTo: 1 << 20)
            if status != 200 { errorText = "HTTP \(status ?? 0)" }
        } catch {
            errorText = "\(error)"
        }
        let delivered = status == 200
        let now = SimEngine.nowMs()
        let next = delivered ? now : now + max(config.retry.delayMilliseconds(afterFailures: d.attempts + 1), retryAfterMs)
        if !delivered {
            logger.debug("webhook delivery failed; will retry", metadata: ["delivery": "\(d.id)", "error": "\(errorText ?? "")"])
        }
        let (s, e) = (status, errorText)
        // Record the outcome even when shutting down, so a delivered POST is not sent again after a restart.
        let pool = engine.store.pool
        let record = Task {
            try await pool.write { db in
                try SimStore.recordAttempt(db, id: d.id, status: s, error: e, delivered: delivered, nextAttemptMs: next, now: now)
            }
        }
        do {
            try await record.value
        } catch {
            logger.error("cannot record a webhook attempt", metadata: ["error": "\(error)"])
        }
    }

    /// Performs the node's GET verification handshake; true when the node echoes the challenge.
    func verify() async throws -> Bool {
        let challenge = String(UInt64.random(in: 1_000_000_000...9_999_999_999))
        var components = URLComponents(string: config.webhookURL)
        var items = components?.queryItems ?? []
        items += [URLQueryItem(name: "hub.mode", value: "subscribe"), URLQueryItem(name: "hub.verify_token", value: config.verifyToken),
                  URLQueryItem(name: "hub.challenge", value: challenge)]
        components?.queryItems = items
        guard let url = components?.string else {
            throw SimulatorError(code: "bad_webhook_url", message: "webhook URL \(config.webhookURL) is not a valid URL")
        }
        let request = HTTPClientRequest(url: url)
        let response = try await client.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1 << 16)
        return response.status.code == 200 && String(buffer: body) == challenge
    }
}
