import Foundation
import Logging
import NIOCore
import NIOHTTP1
import ParleyCore
import ParleyCrypto
import ParleyKit
import ParleyStore
import ServiceLifecycle

/// A local refusal that must reach the sender's app as a native "failed" status. It carries no content: only
/// the native id of the refused message and the reason. Stored in the inbox with our own domain as origin.
struct FailureNotice: Sendable {
    static let payloadType: UInt8 = 3
    var nativeTarget: String
    var failure: BridgeEvent.Failure

    func encoded() -> [UInt8] {
        var out: [UInt8] = [Self.payloadType]
        for field in [nativeTarget, failure.code, failure.message] {
            let utf8 = Array(field.utf8.prefix(Int(UInt16.max)))
            out += [UInt8(utf8.count >> 8), UInt8(utf8.count & 0xFF)] + utf8
        }
        return out
    }

    init(nativeTarget: String, failure: BridgeEvent.Failure) {
        self.nativeTarget = nativeTarget
        self.failure = failure
    }

    init?(decoding bytes: [UInt8]) {
        guard bytes.first == Self.payloadType else { return nil }
        var cursor = 1
        var fields: [String] = []
        while cursor < bytes.count, fields.count < 3 {
            guard cursor + 2 <= bytes.count else { return nil }
            let length = Int(bytes[cursor]) << 8 | Int(bytes[cursor + 1])
            cursor += 2
            guard cursor + length <= bytes.count, let s = String(validating: bytes[cursor..<cursor + length], as: UTF8.self) else { return nil }
            fields.append(s)
            cursor += length
        }
        guard fields.count == 3, cursor == bytes.count else { return nil }
        self.init(nativeTarget: fields[0], failure: BridgeEvent.Failure(code: fields[1], message: fields[2]))
    }
}

extension BridgeNode {
    /// Queues a native "failed" status for `event` (a message from one of our users that was refused).
    func queueFailureNotice(tenant: TenantRuntime, event: BridgeEvent, refusal: Refusal, now: Int64) async throws {
        guard !event.nativeId.isEmpty else { return }
        let conversation = ConversationKey(localUser: event.sender, account: event.recipient ?? "-")
        try await queueNotice(tenant: tenant, conversation: conversation, nativeTarget: event.nativeId, failure: refusal.failure, key: Self.eventKey(event), now: now)
        metrics.failed(tenant: tenant.name, peer: "local", reason: refusal.code)
        logger.notice("refused", metadata: ["tenant": .string(tenant.name), "code": .string(refusal.code)])
    }

    func queueNotice(tenant: TenantRuntime, conversation: ConversationKey, nativeTarget: String, failure: BridgeEvent.Failure, key: String, now: Int64) async throws {
        let notice = FailureNotice(nativeTarget: nativeTarget, failure: failure)
        let id = Array(Hashing.sha256(Array("notice|\(key)".utf8)).prefix(16))
        _ = try await store.receive(
            tenant: tenant.name, origin: tenant.domain, transactionId: "notice-\(Hex.encode(id))",
            envelopes: [InboundEnvelope(envelopeId: Data(id), conversation: conversation.rawValue, sealed: Data(notice.encoded()))],
            now: now)
        wakeups.signal("egress:\(tenant.name)")
    }

    /// Sends one native request to the tenant's app and reads the answer with the adapter.
    func sendNative(_ request: NativeRequest, tenant: TenantRuntime, idempotencyKey: String) async -> (SendOutcome, retryAfterMillis: Int64?) {
        let headers: HTTPHeaders = [
            "Authorization": "Bearer \(tenant.config.accessToken.value)", "Content-Type": request.contentType,
            "X-Parley-Idempotency-Key": idempotencyKey,
        ]
        do {
            let response = try await self.http.execute(
                HTTPMethod(rawValue: request.method), url: tenant.config.apiBaseURL + request.path, headers: headers,
                body: request.body, timeout: .seconds(30))
            let retryAfter = response.headers.first(name: "Retry-After").flatMap(Int64.init).map { $0 * 1000 }
            do {
                return (try tenant.adapter.decodeSendResponse(status: response.status, body: response.body), retryAfter)
            } catch {
                if response.status >= 500 || response.status == 429 {
                    return (.retryable(BridgeEvent.Failure(code: "native.http_\(response.status)", message: "the app answered \(response.status)")), retryAfter)
                }
                return (.rejected(BridgeEvent.Failure(code: error.code.rawValue, message: error.message)), nil)
            }
        } catch {
            return (.retryable(BridgeEvent.Failure(code: "native.unreachable", message: "cannot reach the app's API: \(error)")), nil)
        }
    }
}

/// Delivers what arrived for one tenant's users to its app's native API, in order per conversation.
struct EgressWorker: Service {
    let node: BridgeNode
    let tenant: TenantRuntime

    func run() async throws {
        let key = "egress:\(tenant.name)"
        await node.endEarlierLeases(tenant: tenant.name, peer: nil)
        var linger = BatchLinger(milliseconds: node.config.limits.batchLingerMilliseconds)
        // Rows the app accepted in the last pass, still to be recorded as delivered: the next claim does it in its
        // transaction (a worker that found work claims again at once, so they wait no longer than that).
        var unsettled: [Accepted] = []
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            let worked: Bool
            do {
                let outcome = try await runOnce(recording: unsettled)
                unsettled = outcome.accepted.filter(isRecordable)
                worked = outcome.worked
            } catch {
                node.logger.error("egress pass failed", metadata: ["tenant": .string(tenant.name), "error": .string("\(error)")])
                // Whatever made the claim fail must not hold the records back too: they get a write of their own.
                await record(unsettled)
                unsettled = []
                worked = false
            }
            await linger.afterPass(worked: worked, wakeups: node.wakeups, key: key)
        }
        await record(unsettled)
    }

    /// One claim-and-deliver pass; returns whether there was work, and the rows the app accepted, for the next pass's
    /// claim to record. `recording`: the previous pass's accepted rows (each ``isRecordable(_:)``), recorded as
    /// delivered by this pass's claim before it hands out rows (so their conversations' next rows can go).
    func runOnce(recording: [Accepted] = []) async throws -> (worked: Bool, accepted: [Accepted]) {
        let now = BridgeNode.nowMillis()
        let claim = try await node.store.claimInbox(
            tenant: tenant.name, limit: 128, maxPerConversation: 16, leaseMillis: 60_000, now: now,
            markingDelivered: recording.map(delivery))
        recorded(recording, changed: claim.markedDelivered)
        guard !claim.items.isEmpty else { return (claim.stoppedEarly, []) }
        // A run of one conversation goes out in order; different conversations are independent and go concurrently.
        var runs: [[InboxItem]] = []
        var runIndex: [String: Int] = [:]
        for item in claim.items {
            let key = item.key.origin + "\u{0}" + item.conversation
            if let index = runIndex[key] { runs[index].append(item) } else { runIndex[key] = runs.count; runs.append([item]) }
        }
        var accepted: [Accepted] = []
        let passStarted = ContinuousClock.now
        await withTaskGroup(of: [Accepted].self) { group in
            var running = 0
            func collect(_ finished: [Accepted]) async {
                accepted += finished
                // A pass held up by a slow app must not keep what the app took long unrecorded (a crash would
                // deliver it again): past this, records get their own write instead of waiting for the next claim.
                if ContinuousClock.now - passStarted > Self.recordWithin {
                    await record(accepted)
                    accepted = []
                }
            }
            for run in runs {
                while running >= Self.concurrentRuns, let finished = await group.next() {
                    await collect(finished)
                    running -= 1
                }
                group.addTask { await deliverInOrder(run, leaseToken: claim.leaseToken) }
                running += 1
            }
            while let finished = await group.next() { await collect(finished) }
        }
        return (true, accepted)
    }

    /// How long a pass may go on before the rows the app accepted are recorded without waiting for the next claim.
    static let recordWithin: Duration = .milliseconds(250)

    /// Conversations delivered at once (each in order); within the HTTP client's connections per origin.
    static let concurrentRuns = 16

    /// Delivers a conversation's run one row after the other; when a row must wait for a retry, the rows after it
    /// are handed back untried so they stay behind it. Returns the rows the app accepted, for the caller to record.
    ///
    /// A row goes out as soon as the app accepted the one before it, without waiting for "delivered" to be
    /// committed (the pass records them all before the next claim). A row that refers to an earlier row of the run
    /// (a reaction to the message just before it) finds that row's native id in `deliveredInRun`.
    func deliverInOrder(_ run: [InboxItem], leaseToken: String) async -> [Accepted] {
        var deliveredInRun: [Data: String] = [:]
        var accepted: [Accepted] = []
        for (index, item) in run.enumerated() {
            switch await deliver(item, leaseToken: leaseToken, deliveredInRun: deliveredInRun) {
            case .accepted(let row):
                if let mapping = row.mapping { deliveredInRun[mapping.canonicalId] = row.nativeId }
                accepted.append(row)
            case .finished:
                continue
            case .waits:
                let rest = run[(index + 1)...].map(\.key)
                do {
                    _ = try await node.store.returnUntried(tenant: tenant.name, leaseToken: leaseToken, keys: rest, now: BridgeNode.nowMillis())
                } catch {
                    // They come back when the lease runs out.
                    node.logger.error("could not hand back untried rows", metadata: ["tenant": .string(tenant.name), "error": .string("\(error)")])
                }
                return accepted
            }
        }
        return accepted
    }

    enum Result {
        case delivered(nativeId: String, mapping: IdMapping?)
        case retry(BridgeEvent.Failure, afterMillis: Int64?)
        case failed(BridgeEvent.Failure)
    }

    /// A row the app accepted, still to be recorded as delivered.
    struct Accepted: Sendable {
        var item: InboxItem
        var nativeId: String
        var mapping: IdMapping?
        var started: ContinuousClock.Instant
        /// When the app accepted it (Unix ms): the time a watermark receipt is compared with.
        var acceptedAt: Int64
    }

    /// What became of one row: accepted by the app (to be recorded), finished otherwise (failed, or retries used up:
    /// recorded already), or waiting for a retry (recorded; the rows behind it must wait too).
    enum Step {
        case accepted(Accepted)
        case finished
        case waits
    }

    /// Delivers one row; records every outcome but acceptance, which the caller records.
    func deliver(_ item: InboxItem, leaseToken: String, deliveredInRun: [Data: String]) async -> Step {
        let started = ContinuousClock.now
        let result: Result
        var bounce: (sender: String, messageId: MessageId, conversation: ConversationKey)?
        do {
            let outcome = try await process(item, deliveredInRun: deliveredInRun)
            result = outcome.result
            bounce = outcome.bounce
        } catch let refusal as Refusal {
            result = refusal.retryable ? .retry(refusal.failure, afterMillis: nil) : .failed(refusal.failure)
        } catch let error as EnvelopeError {
            result = .failed(BridgeEvent.Failure(code: error.code.rawValue, message: error.message))
        } catch {
            result = .retry(BridgeEvent.Failure(code: "node.internal", message: "\(error)"), afterMillis: nil)
        }
        let now = BridgeNode.nowMillis()
        do throws(any Error) {
            switch result {
            case .delivered(let nativeId, let mapping):
                return .accepted(Accepted(item: item, nativeId: nativeId, mapping: mapping, started: started, acceptedAt: now))
            case .retry(let failure, let after):
                if item.attempt >= node.config.limits.nativeRetryLimit + 1 {
                    try await fail(item, failure: failure, bounce: bounce, now: now)
                } else {
                    let delay = max(after ?? 0, node.backoffMillis(attempt: item.attempt))
                    _ = try await node.store.scheduleInboxRetry(tenant: tenant.name, leaseToken: leaseToken, retries: [InboxRetry(key: item.key, nextAttemptAt: now + delay, error: failure.code)], now: now)
                    node.metrics.retried(tenant: tenant.name, peer: item.key.origin)
                    node.logger.notice("app delivery will be retried", metadata: ["tenant": .string(tenant.name), "cid": BridgeNode.correlationId(item.key.envelopeId), "code": .string(failure.code), "delay_ms": .stringConvertible(delay)])
                    return .waits
                }
                return .finished
            case .failed(let failure):
                try await fail(item, failure: failure, bounce: bounce, now: now)
                return .finished
            }
        } catch {
            node.logger.error("could not record delivery", metadata: ["tenant": .string(tenant.name), "error": .string("\(error)")])
            return .waits
        }
    }

    /// The store row recording `accepted` as delivered, with its id map row (which remembers when, for watermark
    /// receipts: an app such as Messenger reports "read up to time T", not a message).
    func delivery(_ accepted: Accepted) -> InboxDelivery {
        var mapping = accepted.mapping
        mapping?.deliveredAt = accepted.acceptedAt
        return InboxDelivery(key: accepted.item.key, nativeId: accepted.nativeId, mapping: mapping)
    }

    /// Whether the store will take the record (an app's native id it cannot store is refused alone, not with the
    /// claim it would ride on). The app has a refused row; the row comes round again when its lease runs out.
    func isRecordable(_ accepted: Accepted) -> Bool {
        do {
            try ParleyStore.validate(delivery(accepted))
            return true
        } catch {
            node.logger.error("could not record delivery", metadata: ["tenant": .string(tenant.name), "cid": BridgeNode.correlationId(accepted.item.key.envelopeId), "error": .string("\(error)")])
            return false
        }
    }

    /// Records accepted rows as delivered in a write of their own (when no claim can carry them).
    func record(_ accepted: [Accepted]) async {
        let recordable = accepted.filter(isRecordable)
        if recordable.isEmpty { return }
        do {
            let changed = try await node.store.markDeliveredEach(tenant: tenant.name, recordable.map(delivery), now: BridgeNode.nowMillis())
            recorded(recordable, changed: changed)
        } catch {
            // The app has them; the rows come round again when their lease runs out (the idempotency key covers that).
            node.logger.error("could not record deliveries", metadata: ["tenant": .string(tenant.name), "rows": .stringConvertible(recordable.count), "error": .string("\(error)")])
        }
    }

    /// Counts, traces and logs the rows whose "delivered" record was committed (`changed`: per row, whether it
    /// changed; a row already delivered or failed was counted when that happened).
    func recorded(_ accepted: [Accepted], changed: [Bool]) {
        for (row, changed) in zip(accepted, changed) where changed {
            let item = row.item
            node.metrics.delivered(tenant: tenant.name, peer: item.key.origin)
            node.trace.record("delivered", tenant: tenant.name, peer: item.key.origin, envelope: Hex.encode(Array(item.key.envelopeId)), bytes: item.sealed?.count ?? 0, detail: row.nativeId)
            node.metrics.latency("egress", tenant: tenant.name, peer: item.key.origin, nanoseconds: (ContinuousClock.now - row.started).nanoseconds)
            node.logger.info("delivered to app", metadata: ["tenant": .string(tenant.name), "cid": BridgeNode.correlationId(item.key.envelopeId), "origin": .string(item.key.origin), "native_id": .string(row.nativeId)])
        }
    }

    private func fail(_ item: InboxItem, failure: BridgeEvent.Failure, bounce: (sender: String, messageId: MessageId, conversation: ConversationKey)?, now: Int64) async throws {
        _ = try await node.store.markInboxFailed(tenant: tenant.name, failures: [InboxFailure(key: item.key, reason: failure.code, detail: failure.message)], now: now)
        node.metrics.failed(tenant: tenant.name, peer: item.key.origin, reason: failure.code)
        node.logger.notice("app delivery failed", metadata: ["tenant": .string(tenant.name), "cid": BridgeNode.correlationId(item.key.envelopeId), "code": .string(failure.code), "reason": .string(failure.message)])
        // Tell the origin, so its app shows its user a native failure.
        if let bounce {
            try await node.sendReceipt(tenant: tenant, localUser: bounce.conversation.localUser, remoteURI: bounce.sender, conversation: bounce.conversation, messageId: bounce.messageId, status: .failed, failure: failure, now: now)
        }
    }

    /// Opens and delivers one row.
    func process(_ item: InboxItem, deliveredInRun: [Data: String] = [:]) async throws -> (result: Result, bounce: (sender: String, messageId: MessageId, conversation: ConversationKey)?) {
        guard let sealed = item.sealed, let conversation = ConversationKey(rawValue: item.conversation) else {
            return (.failed(BridgeEvent.Failure(code: "node.purged", message: "the row's ciphertext was purged before delivery")), nil)
        }
        let idempotency = Hex.encode(Array(item.key.envelopeId))
        if item.key.origin == tenant.domain, let notice = FailureNotice(decoding: Array(sealed)) {
            let event = BridgeEvent(
                kind: .receipt, nativeId: "", conversation: conversation.localUser, sender: conversation.account,
                recipient: conversation.account, timestamp: BridgeNode.nowMillis(), target: notice.nativeTarget, status: .failed,
                failure: notice.failure)
            return (try await send([event], idempotency: idempotency, mapping: nil), nil)
        }
        let opened = try await node.open(Array(sealed), tenant: tenant, origin: item.key.origin)
        switch opened.payload {
        case .receipt(let messageId, let status, let failure):
            let natives = try await node.store.nativeIds(tenant: tenant.name, canonicalId: Data(messageId.bytes), app: tenant.app)
            guard let native = natives.first(where: { $0.conversation == conversation.rawValue && $0.namesNativeMessage }) else {
                // Nothing in our app to attach it to (e.g. a receipt for a reaction): done, nothing to show.
                return (.delivered(nativeId: "-", mapping: nil), nil)
            }
            let event = BridgeEvent(
                kind: .receipt, nativeId: "", conversation: conversation.localUser, sender: conversation.account,
                recipient: conversation.account, timestamp: opened.sentAt, target: native.nativeId, status: status, failure: failure)
            return (try await send([event], idempotency: idempotency, mapping: nil), nil)
        case .content(let bytes):
            let content = try MIMIContent(decoding: bytes)
            let messageId = try MessageId.derive(content: bytes, senderUri: opened.senderURI, roomUri: content.extensions.roomUri ?? "", salt: content.salt)
            let bounce = (sender: opened.senderURI, messageId: messageId, conversation: conversation)
            let event = try await outboundEvent(content, conversation: conversation, sentAt: opened.sentAt, deliveredInRun: deliveredInRun)
            let mapping = IdMapping(app: tenant.app, conversation: conversation.rawValue, nativeId: "", canonicalId: Data(messageId.bytes))
            return (try await send(Fallbacks.apply(event, to: tenant.capabilities), idempotency: idempotency, mapping: mapping), bounce)
        }
    }

    /// MIMI content → the event the adapter encodes, with canonical references mapped to this app's native ids.
    func outboundEvent(_ content: MIMIContent, conversation: ConversationKey, sentAt: Int64, deliveredInRun: [Data: String] = [:]) async throws -> BridgeEvent {
        func native(_ id: MessageId?) async throws -> String? {
            guard let id else { return nil }
            if let justDelivered = deliveredInRun[Data(id.bytes)] { return justDelivered }
            let rows = try await node.store.nativeIds(tenant: tenant.name, canonicalId: Data(id.bytes), app: tenant.app)
            let usable = rows.filter(\.namesNativeMessage)
            return (usable.first { $0.conversation == conversation.rawValue } ?? usable.first)?.nativeId
        }
        var event = BridgeEvent(
            kind: content.kind.bridgeKind, nativeId: "", conversation: conversation.localUser, sender: conversation.account,
            recipient: conversation.account, timestamp: sentAt)
        switch content.kind {
        case .text, .reply, .attachment:
            event.text = content.text
            event.target = try await native(content.inReplyTo)
            event.attachments = content.externalParts.map {
                Attachment(kind: Self.attachmentKind($0.contentType), url: $0.url, mimeType: $0.contentType,
                           caption: $0.description.isEmpty ? nil : $0.description, filename: $0.filename.isEmpty ? nil : $0.filename)
            }
            if content.kind == .attachment, let caption = content.text { event.attachments[0].caption = caption; event.text = caption }
        case .reaction:
            event.emoji = content.text
            event.target = try await native(content.inReplyTo)
        case .unlike:
            event.emoji = ""
            event.target = try await native(content.inReplyTo)
        case .edit:
            event.text = content.text
            event.target = try await native(content.replaces)
        case .delete:
            event.target = try await native(content.replaces)
        case .other:
            throw Refusal("content.unsupported", "this kind of MIMI content cannot be shown in \(tenant.app)")
        }
        if [.reaction, .edit, .delete].contains(event.kind), event.target == nil {
            throw Refusal(Refusal.unknownTargetCode, "the message this \(event.kind.rawValue) refers to was never delivered here")
        }
        return event
    }

    static func attachmentKind(_ mime: String) -> String {
        if mime.hasPrefix("image/") { return "image" }
        if mime.hasPrefix("video/") { return "video" }
        if mime.hasPrefix("audio/") { return "audio" }
        return "file"
    }

    /// Encodes and sends events in order; the first native id is the one recorded.
    func send(_ events: [BridgeEvent], idempotency: String, mapping: IdMapping?) async throws -> Result {
        var firstNativeId: String?
        var index = 0
        for event in events {
            let requests: [NativeRequest]
            do {
                requests = try tenant.adapter.encode(event)
            } catch {
                return .failed(BridgeEvent.Failure(code: error.code.rawValue, message: error.message))
            }
            for request in requests {
                let (outcome, retryAfter) = await node.sendNative(request, tenant: tenant, idempotencyKey: "\(idempotency)-\(index)")
                index += 1
                switch outcome {
                case .accepted(let nativeId):
                    if firstNativeId == nil { firstNativeId = nativeId }
                case .retryable(let failure):
                    return .retry(failure, afterMillis: retryAfter)
                case .rejected(let failure):
                    return .failed(failure)
                }
            }
        }
        let nativeId = firstNativeId ?? ""
        let finalMapping = mapping.flatMap { m in
            nativeId.isEmpty ? nil : IdMapping(app: m.app, conversation: m.conversation, nativeId: nativeId, canonicalId: m.canonicalId)
        }
        return .delivered(nativeId: nativeId.isEmpty ? "-" : nativeId, mapping: finalMapping)
    }
}
