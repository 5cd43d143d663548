import Foundation
import Logging
import ParleyCore
import ParleyCrypto
import ParleyKit
import ParleyStore

/// The answer to a webhook: the status to return and a short reason (never content).
struct WebhookAnswer: Sendable {
    var status: Int
    var message: String
    /// Seconds for the app to wait before redelivering (503 only).
    var retryAfterSeconds: Int?
}

extension BridgeNode {
    /// Checks `X-Hub-Signature-256: sha256=<hex>` over the raw body, in constant time.
    static func verifyHubSignature(_ header: String?, body: [UInt8], secret: Secret) -> Bool {
        guard let header, header.hasPrefix("sha256="), let given = Hashing.bytes(fromHex: String(header.dropFirst(7))) else { return false }
        let expected = Hashing.hmacSHA256(key: Array(secret.value.utf8), message: body)
        return given.count == expected.count && Hashing.constantTimeEqual(given, expected)
    }

    /// A native webhook for `tenantName`: verify, decode, apply policy, seal, and make it durable before answering.
    func handleWebhook(tenantName: String, body: [UInt8], signature: String?) async -> WebhookAnswer {
        guard let tenant = tenants[tenantName] else { return WebhookAnswer(status: 404, message: "no tenant \(tenantName)") }
        guard Self.verifyHubSignature(signature, body: body, secret: tenant.config.webhookSecret) else {
            logger.warning("webhook signature mismatch", metadata: ["tenant": .string(tenantName)])
            return WebhookAnswer(status: 401, message: "X-Hub-Signature-256 does not match the body")
        }
        let events: [BridgeEvent]
        do {
            events = try tenant.adapter.decode(body)
        } catch {
            logger.warning("webhook not understood", metadata: ["tenant": .string(tenantName), "code": .string(error.code.rawValue)])
            return WebhookAnswer(status: 400, message: error.description)
        }
        let receivedAt = Self.nowMillis()
        // One consent read for the whole webhook rather than one per event.
        let consenting: Set<String>
        do {
            consenting = tenant.config.policy.requireConsent
                ? try await store.consentingUsers(tenant: tenant.name, among: Set(events.map(\.sender))) : []
        } catch {
            logger.error("could not check consent", metadata: ["tenant": .string(tenantName), "error": .string("\(error)")])
            return WebhookAnswer(status: 503, message: "storage unavailable; retry")
        }
        var batch: [IngressEvent] = []
        var notices: [(event: BridgeEvent, refusal: Refusal)] = []
        var peersToWake = Set<String>()
        var waiting = 0
        for event in events {
            do {
                if let ingress = try await translate(event, tenant: tenant, receivedAt: receivedAt, consenting: consenting) {
                    batch.append(ingress)
                    ingress.envelopes.forEach { peersToWake.insert($0.peer) }
                }
            } catch let full as QueueFull {
                // A slow or absent peer: nothing of this webhook is stored, the app keeps it and redelivers later.
                metrics.failed(tenant: tenantName, peer: full.peer, reason: full.code)
                logger.notice("webhook pushed back", metadata: ["tenant": .string(tenantName), "peer": .string(full.peer), "code": .string(full.code), "depth": .stringConvertible(full.depth)])
                return WebhookAnswer(status: 503, message: full.description, retryAfterSeconds: full.retryAfterSeconds)
            } catch let refusal as Refusal {
                if refusal.retryable {
                    // Nothing was stored; the app retries the webhook later (a peer's keys were unreachable).
                    logger.notice("webhook deferred", metadata: ["tenant": .string(tenantName), "code": .string(refusal.code)])
                    return WebhookAnswer(status: 503, message: refusal.description)
                }
                if refusal.code == Refusal.unknownTargetCode,
                   referenceWaits.shouldWait("\(tenantName)|\(Self.eventKey(event))", now: receivedAt) {
                    // Out of order: the message it names may be in a later webhook. Leave it unacknowledged so the
                    // app redelivers it; everything else in this webhook is committed now and deduplicated then.
                    waiting += 1
                    continue
                }
                notices.append((event, refusal))
            } catch {
                logger.error("webhook event failed", metadata: ["tenant": .string(tenantName), "error": .string("\(error)")])
                return WebhookAnswer(status: 500, message: "internal error; retry")
            }
        }
        do {
            for (event, refusal) in notices {
                try await queueFailureNotice(tenant: tenant, event: event, refusal: refusal, now: receivedAt)
                batch.append(IngressEvent(tenant: tenant.name, app: tenant.app, nativeEventKey: Self.eventKey(event), receivedAt: receivedAt, envelopes: []))
            }
            let results = try await ingress.ingest(batch)
            // Logged and counted once committed: a redelivered webhook is sealed again, then dropped as a duplicate.
            for (ingress, result) in zip(batch, results) where !result.duplicate {
                let inserted = Set(result.insertedEnvelopes)
                for envelope in ingress.envelopes where inserted.contains(envelope.envelopeId) {
                    if envelope.canonicalId != nil { metrics.received(tenant: tenantName, peer: envelope.peer) }
                    logger.info("accepted from app", metadata: [
                        "tenant": .string(tenantName), "cid": Self.correlationId(envelope.envelopeId),
                        "peer": .string(envelope.peer), "sealed_bytes": .stringConvertible(envelope.sealed.count),
                    ])
                }
            }
        } catch {
            logger.error("could not store webhook", metadata: ["tenant": .string(tenantName), "error": .string("\(error)")])
            return WebhookAnswer(status: 503, message: "storage unavailable; retry")
        }
        for peer in peersToWake { wakeups.signal("send:\(tenant.name):\(peer)") }
        if !notices.isEmpty { wakeups.signal("egress:\(tenant.name)") }
        if waiting > 0 {
            logger.notice("webhook waits for a message it refers to", metadata: ["tenant": .string(tenantName), "events": .stringConvertible(waiting)])
            return WebhookAnswer(status: 503, message: "\(waiting) event(s) refer to a message not seen yet; redeliver later")
        }
        return WebhookAnswer(status: 200, message: "ok")
    }

    /// The dedup key of one event: a retried webhook yields the same key.
    static func eventKey(_ event: BridgeEvent) -> String {
        switch event.kind {
        case .receipt: "receipt|\(event.target ?? event.nativeId)|\(event.status?.rawValue ?? "")|\(event.watermark ?? 0)|\(event.sender)"
        case .reaction where event.nativeId.isEmpty: "reaction|\(event.target ?? "")|\(event.emoji ?? "")|\(event.timestamp)|\(event.sender)"
        default: "\(event.kind.rawValue)|\(event.nativeId)|\(event.sender)"
        }
    }

    /// One native event → what to store: sealed envelopes for the peer and id map rows; `nil` for events that are
    /// not bridged (our own echoes, send bodies, typing, unsupported). `consenting`: the webhook's senders who have
    /// granted consent (read once per webhook; consulted only when the tenant requires consent).
    func translate(_ event: BridgeEvent, tenant: TenantRuntime, receivedAt: Int64, consenting: Set<String>) async throws -> IngressEvent? {
        if event.isOutboundRequest { return nil }
        switch event.kind {
        case .echo, .typing, .unsupported:
            return nil
        case .receipt:
            return try await translateReceipt(event, tenant: tenant, receivedAt: receivedAt)
        case .message, .edit, .delete, .reaction:
            break
        }
        guard let account = event.recipient, let contact = try await contacts.contact(tenant, account: account) else {
            throw Refusal.unknownContact(event.recipient ?? "(none)")
        }
        guard let remote = MIMIAddress(contact.remote) else { throw Refusal.unknownContact(account) }
        let senderURI = tenant.userURI(event.sender)
        try tenant.policy.checkPeer(remote.domain, localDomain: tenant.domain)
        try tenant.policy.checkKind(event.kind)
        try tenant.policy.checkSize(textBytes: event.text?.utf8.count ?? 0, attachments: event.attachments.count)
        if tenant.config.policy.requireConsent, !consenting.contains(event.sender) {
            throw Refusal.senderNoConsent(senderURI)
        }
        guard let peer = peerFor(domain: remote.domain) else { throw Refusal.noRoute(remote.domain) }
        // Before any sealing: a pushed-back webhook comes again, and must not cost a seal each time.
        try await queues.requireRoom(.outbox, tenant: tenant.name, peer: peer.config.domain)
        try tenant.policy.checkRate(peer: remote.domain)

        let conversation = ConversationKey(localUser: event.sender, account: account)
        let room = ConversationKey.roomURI(senderURI, contact.remote)
        func canonical(_ native: String?) async throws -> MessageId? {
            guard let native else { return nil }
            let id = try await store.canonicalId(tenant: tenant.name, app: tenant.app, conversation: conversation.rawValue, nativeId: native)
            return id.flatMap { MessageId(bytes: Array($0)) }
        }
        var mappings: [IdMapping] = []
        let content: MIMIContent
        switch event.kind {
        case .message:
            let replyTo = try await canonical(event.target)
            if let attachment = event.attachments.first(where: { $0.url != nil }), let url = attachment.url {
                let external = ExternalPart(
                    contentType: attachment.mimeType ?? Self.defaultMime(attachment.kind), url: url, expires: 0, size: 0,
                    encAlg: 0, key: [], nonce: [], aad: [], hashAlg: 0, contentHash: [],
                    description: attachment.caption ?? "", filename: attachment.filename ?? "")
                content = .attachment(external, caption: event.text ?? attachment.caption, inReplyTo: replyTo, sender: senderURI, room: room)
            } else if let text = event.text, !text.isEmpty {
                content = replyTo.map { MIMIContent.reply(to: $0, text: text, sender: senderURI, room: room) }
                    ?? .text(text, sender: senderURI, room: room)
            } else {
                throw Refusal("content.unsupported", "a message with neither text nor a linkable attachment cannot be bridged")
            }
        case .reaction:
            guard let target = try await canonical(event.target) else {
                throw Refusal.unknownTarget("reacted-to")
            }
            let reactionKey = "reaction:\(event.target ?? ""):\(event.sender)"
            if let emoji = event.emoji, !emoji.isEmpty {
                content = .reaction(emoji, to: target, sender: senderURI, room: room)
                // Remember the reaction's own id, so a later removal can name it.
                mappings.append(IdMapping(app: tenant.app, conversation: conversation.rawValue, nativeId: reactionKey, canonicalId: Data()))
            } else {
                let previous = try await canonical(reactionKey)
                content = .unlike(reaction: previous ?? target, on: target, sender: senderURI, room: room)
            }
        case .edit:
            guard let text = event.text, !text.isEmpty else {
                throw Refusal("content.unsupported", "the app reported an edit without its new text")
            }
            guard let target = try await canonical(event.target) else {
                throw Refusal.unknownTarget("edited")
            }
            content = .edit(replacing: target, text: text, sender: senderURI, room: room)
        case .delete:
            guard let target = try await canonical(event.target) else {
                throw Refusal.unknownTarget("deleted")
            }
            content = .delete(replacing: target, sender: senderURI, room: room)
        default:
            return nil
        }
        let contentBytes = content.encoded()
        let messageId = try content.messageId()
        // Fill in the reaction's id now that it is known (the placeholder above had none).
        mappings = mappings.map { IdMapping(app: $0.app, conversation: $0.conversation, nativeId: $0.nativeId, canonicalId: Data(messageId.bytes)) }
        // Only messages get a mapping of their own: edits, deletes and reactions are referred to by what they
        // change, and a receipt naming one of them would mean nothing to the other app.
        let ownMapping = event.kind == .message && !event.nativeId.isEmpty
        if ownMapping {
            mappings.insert(IdMapping(app: tenant.app, conversation: conversation.rawValue, nativeId: event.nativeId, canonicalId: Data(messageId.bytes)), at: 0)
        }
        let sender = try await keys.localKeys(tenant: tenant.name, uri: senderURI)
        let recipient = try await keys.remoteBundle(tenant: tenant.name, uri: contact.remote, peer: peer)
        let expiresAt = receivedAt + Int64(config.limits.messageTTLSeconds) * 1000
        let sealed = try sealing.seal(
            payload: SealedPayload.content(contentBytes).encoded(), sender: sender, recipient: recipient,
            origin: tenant.domain, destination: remote.domain, sentAt: event.timestamp, expiresAt: expiresAt)
        let envelope = OutboundEnvelope(
            envelopeId: Data(sealed.envelopeId), peer: peer.config.domain, conversation: conversation.rawValue,
            sealed: Data(sealed.bytes), canonicalId: Data(messageId.bytes), createdAt: receivedAt, expiresAt: expiresAt,
            nextAttemptAt: receivedAt)
        trace.record("sealed", tenant: tenant.name, peer: remote.domain, envelope: Hex.encode(sealed.envelopeId), bytes: sealed.bytes.count, detail: event.kind.rawValue)
        // A message's own mapping (first) is written anyway and names it as uniquely as its event key: it doubles as
        // the dedup row, so the commonest event costs one row fewer.
        return IngressEvent(
            tenant: tenant.name, app: tenant.app, nativeEventKey: Self.eventKey(event), receivedAt: receivedAt,
            envelopes: [envelope], idMappings: mappings, deduplication: ownMapping ? .firstIdMapping : .nativeEventKey)
    }

    /// A local user's delivered/read status for messages the bridge brought in → receipts to their origin.
    /// Per-message statuses name their target; watermarks (Messenger) cover every message delivered up to a time.
    func translateReceipt(_ event: BridgeEvent, tenant: TenantRuntime, receivedAt: Int64) async throws -> IngressEvent? {
        guard let status = event.status, status == .delivered || status == .read else { return nil }
        guard let account = event.recipient, let contact = try await contacts.contact(tenant, account: account),
              let remote = MIMIAddress(contact.remote) else {
            return nil
        }
        let conversation = ConversationKey(localUser: event.sender, account: account)
        var messageIds: [MessageId] = []
        if let target = event.target ?? (event.watermark == nil && !event.nativeId.isEmpty ? event.nativeId : nil) {
            if let canonical = try await store.canonicalId(tenant: tenant.name, app: tenant.app, conversation: conversation.rawValue, nativeId: target),
               let id = MessageId(bytes: Array(canonical)) {
                messageIds.append(id)
            }
        } else if let watermark = event.watermark {
            // Delivery times are this node's clock, the watermark the app's: allow a little slack.
            let rows = try await store.deliveredMessages(
                tenant: tenant.name, app: tenant.app, conversation: conversation.rawValue,
                deliveredFrom: max(0, watermark - 86_400_000), through: watermark + 2_000, limit: 100)
            messageIds = rows.compactMap { MessageId(bytes: Array($0.canonicalId)) }
        }
        // A receipt for something we did not bring in (e.g. the user's own message): nothing to forward.
        guard !messageIds.isEmpty, let peer = peerFor(domain: remote.domain) else { return nil }
        let senderURI = tenant.userURI(event.sender)
        let sender = try await keys.localKeys(tenant: tenant.name, uri: senderURI)
        let recipient = try await keys.remoteBundle(tenant: tenant.name, uri: contact.remote, peer: peer)
        let expiresAt = receivedAt + Int64(config.limits.messageTTLSeconds) * 1000
        var envelopes: [OutboundEnvelope] = []
        for messageId in messageIds {
            let sealed = try sealing.seal(
                payload: SealedPayload.receipt(messageId: messageId, status: status, failure: nil).encoded(), sender: sender,
                recipient: recipient, origin: tenant.domain, destination: remote.domain, sentAt: event.timestamp, expiresAt: expiresAt)
            envelopes.append(OutboundEnvelope(
                envelopeId: Data(sealed.envelopeId), peer: peer.config.domain, conversation: conversation.rawValue,
                sealed: Data(sealed.bytes), canonicalId: nil, createdAt: receivedAt, expiresAt: expiresAt, nextAttemptAt: receivedAt))
            trace.record("sealed", tenant: tenant.name, peer: remote.domain, envelope: Hex.encode(sealed.envelopeId), bytes: sealed.bytes.count, detail: "receipt")
        }
        return IngressEvent(tenant: tenant.name, app: tenant.app, nativeEventKey: Self.eventKey(event), receivedAt: receivedAt, envelopes: envelopes)
    }

    static func defaultMime(_ kind: String) -> String {
        switch kind {
        case "image": "image/jpeg"
        case "video": "video/mp4"
        case "audio": "audio/mpeg"
        default: "application/octet-stream"
        }
    }
}
