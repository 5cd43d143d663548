import Foundation
import Logging
import NIOCore
import NIOHTTP1
import ParleyCore
import ParleyCrypto
import ParleyKit
import ParleyStore
import ServiceLifecycle

/// The body of `PUT /v1/send/{txnId}`: envelopes are opaque bytes to everyone but their recipient.
struct TransactionBody: Codable, Sendable {
    var origin: String
    var envelopes: [String]
}

/// The answer to a transaction: one result per envelope, in order.
struct TransactionAnswer: Codable, Sendable {
    struct Result: Codable, Sendable {
        var id: String
        /// `accepted`, `duplicate` or `rejected`.
        var status: String
        var code: String?
        var message: String?
        var retryable: Bool?
    }
    var results: [Result]
}

// Transactions are the federation's bulk traffic (hundreds of envelopes a body), so they are read and written with
// ParleyKit's JSON toolkit instead of Foundation's coders, which cost several times as much per field. Same JSON.
extension TransactionBody {
    /// `{"envelopes":[…],"origin":…}` for `TransactionBody(origin:, envelopes: sealed.map { $0.base64EncodedString() })`,
    /// written straight from the sealed bytes: base64 needs no JSON escaping, so each envelope is one append instead
    /// of a string built, then copied into a tree and escaped byte by byte (the sender builds one per transaction,
    /// between its claim and its request).
    static func json(origin: String, sealed: [Data]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(jsonSize(origin: origin, sealedSizes: sealed.lazy.map(\.count)))
        out.append(contentsOf: #"{"envelopes":["#.utf8)
        for (index, envelope) in sealed.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out.append(UInt8(ascii: "\""))
            out.append(contentsOf: envelope.base64EncodedData())
            out.append(UInt8(ascii: "\""))
        }
        out.append(contentsOf: #"],"origin":"#.utf8)
        JSONValue.appendString(origin, to: &out)
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// The length of ``json(origin:sealed:)`` for envelopes of these sizes, without building it.
    static func jsonSize(origin: String, sealedSizes: some Sequence<Int>) -> Int {
        var size = emptyJSONSize(origin: origin)
        for (index, bytes) in sealedSizes.enumerated() { size += (index > 0 ? 1 : 0) + quotedBase64Size(bytes) }
        return size
    }

    /// `"<base64>"` of `sealedBytes` bytes: one envelope in the body, without its separating comma.
    static func quotedBase64Size(_ sealedBytes: Int) -> Int { (sealedBytes + 2) / 3 * 4 + 2 }

    /// The body with no envelopes: `{"envelopes":[],"origin":…}`.
    private static func emptyJSONSize(origin: String) -> Int {
        var originBytes: [UInt8] = []
        JSONValue.appendString(origin, to: &originBytes)
        return #"{"envelopes":["#.utf8.count + #"],"origin":"#.utf8.count + originBytes.count + 1
    }

    /// Cuts a claim, in order, into runs whose bodies stay within `maxBytes` (a run holds one envelope at least,
    /// however large): the peer refuses a longer body with 413, and a claim of 500 large messages would be one.
    static func runs<Item>(_ items: [Item], origin: String, maxBytes: Int, sealedSize: (Item) -> Int) -> [[Item]] {
        let empty = emptyJSONSize(origin: origin)
        var runs: [[Item]] = []
        var current: [Item] = []
        var size = empty
        for item in items {
            let envelope = quotedBase64Size(sealedSize(item))
            if !current.isEmpty, size + 1 + envelope > maxBytes {
                runs.append(current)
                current = []
                size = empty
            }
            size += (current.isEmpty ? 0 : 1) + envelope
            current.append(item)
        }
        if !current.isEmpty { runs.append(current) }
        return runs
    }

    /// Reads a transaction body; the error says what is wrong with it.
    init(json bytes: [UInt8]) throws(FederationJSONError) {
        let value = try FederationJSONError.parse(bytes)
        guard case .string(let origin)? = value["origin"] else { throw FederationJSONError("`origin` must be a string") }
        guard case .array(let items)? = value["envelopes"] else { throw FederationJSONError("`envelopes` must be an array") }
        var envelopes: [String] = []
        envelopes.reserveCapacity(items.count)
        for item in items {
            guard case .string(let envelope) = item else { throw FederationJSONError("each envelope must be a base64 string") }
            envelopes.append(envelope)
        }
        self.init(origin: origin, envelopes: envelopes)
    }
}

extension TransactionAnswer {
    /// `{"results":[{"id":…,"status":…,…}]}`, leaving out absent fields as Foundation's encoder did.
    var json: [UInt8] {
        JSONValue.object(["results": .array(results.map { result in
            var fields: [String: JSONValue] = ["id": .string(result.id), "status": .string(result.status)]
            if let code = result.code { fields["code"] = .string(code) }
            if let message = result.message { fields["message"] = .string(message) }
            if let retryable = result.retryable { fields["retryable"] = .bool(retryable) }
            return .object(fields)
        })]).serialized
    }

    /// Reads a peer's answer; the error says what is wrong with it.
    init(json bytes: [UInt8]) throws(FederationJSONError) {
        let value = try FederationJSONError.parse(bytes)
        guard case .array(let items)? = value["results"] else { throw FederationJSONError("`results` must be an array") }
        var results: [Result] = []
        results.reserveCapacity(items.count)
        for item in items {
            guard case .string(let id)? = item["id"], case .string(let status)? = item["status"] else {
                throw FederationJSONError("each result needs string `id` and `status`")
            }
            func optionalString(_ key: String) throws(FederationJSONError) -> String? {
                switch item[key] {
                case nil, .null?: return nil
                case .string(let text)?: return text
                default: throw FederationJSONError("`\(key)` must be a string")
                }
            }
            let retryable: Bool?
            switch item["retryable"] {
            case nil, .null?: retryable = nil
            case .bool(let flag)?: retryable = flag
            default: throw FederationJSONError("`retryable` must be a boolean")
            }
            results.append(Result(id: id, status: status, code: try optionalString("code"), message: try optionalString("message"), retryable: retryable))
        }
        self.init(results: results)
    }
}

/// A transaction body or answer that is not what the federation protocol says.
struct FederationJSONError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }

    static func parse(_ bytes: [UInt8]) throws(FederationJSONError) -> JSONValue {
        do {
            return try JSONValue.parse(bytes)
        } catch {
            throw FederationJSONError(error.message)
        }
    }
}

/// The node descriptor served at `/.well-known/parley`.
struct NodeDescriptor: Codable, Sendable {
    var domain: String
    var serves: [String]
    var signingKeys: [String]
    var endpoints: [String: String]
    var capabilities: [String]
    var version: String
}

extension BridgeNode {
    var descriptor: NodeDescriptor {
        NodeDescriptor(
            domain: config.domain, serves: config.tenants.map(\.domain), signingKeys: [nodeKey.publicKey.base64],
            endpoints: ["send": "/v1/send/{txnId}", "keys": "/v1/keys/{user}"],
            capabilities: ["envelope-v1", "receipts", "mimi-content"], version: "1")
    }

    /// Opens an envelope addressed to one of `tenant`'s users; fetches the sender's bundle when the pair is new.
    func open(_ bytes: [UInt8], tenant: TenantRuntime, origin: String) async throws -> OpenedPayload {
        guard let peer = peerFor(domain: origin) else { throw Refusal("peer.unknown", "no configured peer serves \(origin)") }
        return try await sealing.open(bytes, tenant: tenant, keys: keys, peer: peer)
    }

    /// `PUT /v1/send/{txnId}` from `origin`, already authenticated: open, apply policy, store, answer per envelope.
    func receiveTransaction(txnId: String, origin peerDomain: String, body: TransactionBody) async throws -> TransactionAnswer {
        var results: [TransactionAnswer.Result] = []
        var parsed: [(index: Int, bytes: [UInt8], header: EnvelopeHeaderInfo)] = []
        var keysByTenant: [String: [InboxKey]] = [:]
        let now = Self.nowMillis()
        for (index, encoded) in body.envelopes.enumerated() {
            guard let raw = Data(base64Encoded: encoded) else {
                results.append(.init(id: "", status: "rejected", code: "envelope.malformed", message: "not base64", retryable: false))
                continue
            }
            let bytes = Array(raw)
            let header: EnvelopeHeaderInfo
            do {
                header = try sealing.header(bytes)
            } catch {
                results.append(.init(id: "", status: "rejected", code: error.code.rawValue, message: error.message, retryable: false))
                continue
            }
            // A slow app here: the whole transaction waits in the peer's outbox until our inbox has room again
            // (nothing of it is stored yet).
            if let tenant = tenantsByDomain[header.destination] {
                try await queues.requireRoom(.inbox, tenant: tenant.name, peer: peerDomain)
                keysByTenant[tenant.name, default: []].append(InboxKey(origin: header.origin, envelopeId: Data(header.envelopeId)))
            }
            results.append(.init(id: Hex.encode(header.envelopeId), status: "pending"))
            parsed.append((index, bytes, header))
        }
        // Envelopes already held (a retried transaction) are answered "duplicate" without being opened again;
        // one read per tenant for the whole transaction.
        var held: [String: Set<InboxKey>] = [:]
        for (tenantName, keys) in keysByTenant {
            held[tenantName] = try await store.existingInboxKeys(tenant: tenantName, among: keys)
        }
        // Accepted envelopes grouped by tenant, so each tenant's batch commits in one transaction.
        var accepted: [String: [(index: Int, envelope: InboundEnvelope, consentOf: String?)]] = [:]
        for (index, outcome) in await admitAll(parsed, peerDomain: peerDomain, held: held, now: now) {
            switch outcome {
            case .success(let admitted?):
                accepted[admitted.tenant, default: []].append((index, admitted.envelope, admitted.needsConsentOf))
            case .success(nil):
                results[index].status = "duplicate"
            case .failure(let error):
                let refusal = Refusal.from(error)
                results[index] = .init(id: results[index].id, status: "rejected", code: refusal.code, message: refusal.message, retryable: refusal.retryable)
            }
        }
        // Consent of the recipients, one read per tenant.
        for (tenantName, rows) in accepted {
            let users = Set(rows.compactMap(\.consentOf))
            guard !users.isEmpty, let tenant = tenants[tenantName] else { continue }
            let consenting = try await store.consentingUsers(tenant: tenantName, among: users)
            accepted[tenantName] = rows.filter { row in
                guard let user = row.consentOf, !consenting.contains(user) else { return true }
                let refusal = Refusal.recipientNoConsent(tenant.userURI(user))
                results[row.index] = .init(id: results[row.index].id, status: "rejected", code: refusal.code, message: refusal.message, retryable: refusal.retryable)
                return false
            }
        }
        for (tenantName, rows) in accepted where !rows.isEmpty {
            let result = try await store.receive(tenant: tenantName, origin: body.origin, transactionId: txnId, envelopes: rows.map(\.envelope), now: now)
            for (row, outcome) in zip(rows, result.outcomes) {
                results[row.index].status = outcome.acceptance == .accepted ? "accepted" : "duplicate"
                trace.record("received", tenant: tenantName, peer: body.origin, envelope: results[row.index].id, bytes: row.envelope.sealed.count, detail: results[row.index].status)
                if outcome.acceptance == .accepted { metrics.received(tenant: tenantName, peer: peerDomain) }
                logger.debug("received from peer", metadata: [
                    "tenant": .string(tenantName), "cid": Self.correlationId(row.envelope.envelopeId), "peer": .string(peerDomain),
                    "txn": .string(txnId), "status": .string(results[row.index].status),
                ])
            }
            wakeups.signal("egress:\(tenantName)")
        }
        for (index, result) in results.enumerated() where result.status == "rejected" {
            metrics.failed(tenant: "-", peer: peerDomain, reason: result.code ?? "")
            trace.record("refused", tenant: "-", peer: peerDomain, envelope: result.id, bytes: 0, detail: result.code ?? "")
            logger.notice("envelope rejected", metadata: ["cid": .string(String(result.id.prefix(16))), "peer": .string(peerDomain), "code": .string(result.code ?? ""), "index": .stringConvertible(index)])
        }
        return TransactionAnswer(results: results)
    }

    /// Admits a transaction's envelopes in a few concurrent slices, answering in the transaction's order.
    ///
    /// The peer's sender waits for the whole answer before its next transaction, so admission (opening and checking
    /// each envelope, ~40 µs apiece) is on the path every message takes; slices let it use more than one core.
    func admitAll(
        _ parsed: [(index: Int, bytes: [UInt8], header: EnvelopeHeaderInfo)], peerDomain: String, held: [String: Set<InboxKey>], now: Int64
    ) async -> [AdmissionOutcome] {
        let sliceCount = min(Self.admissionSlices, max(1, parsed.count / Self.envelopesPerAdmissionSlice))
        let sliceLength = max(1, (parsed.count + sliceCount - 1) / sliceCount)
        return await withTaskGroup(of: [AdmissionOutcome].self) { group in
            for start in stride(from: 0, to: parsed.count, by: sliceLength) {
                let slice = parsed[start..<min(parsed.count, start + sliceLength)]
                group.addTask {
                    var outcomes: [AdmissionOutcome] = []
                    outcomes.reserveCapacity(slice.count)
                    for (index, bytes, header) in slice {
                        do {
                            outcomes.append((index, .success(try await self.admit(bytes, header: header, peerDomain: peerDomain, held: held, now: now))))
                        } catch {
                            outcomes.append((index, .failure(error)))
                        }
                    }
                    return outcomes
                }
            }
            var all: [AdmissionOutcome] = []
            all.reserveCapacity(parsed.count)
            for await outcomes in group { all += outcomes }
            return all.sorted { $0.index < $1.index }
        }
    }

    /// One envelope's admission, by its index in the transaction: the row to store, `nil` for a duplicate, or why not.
    typealias AdmissionOutcome = (index: Int, outcome: Result<Admitted?, any Error>)

    /// Concurrent admission slices of one transaction at most, and the fewest envelopes worth a slice of their own.
    static let admissionSlices = 4
    static let envelopesPerAdmissionSlice = 16

    /// One envelope that passed admission, with the local user whose consent it still needs (content only).
    struct Admitted {
        var tenant: String
        var envelope: InboundEnvelope
        var needsConsentOf: String?
    }

    /// Checks one envelope of a transaction: destination, origin, duplicate (`held`: the keys the inbox already
    /// has, per tenant), policy, and that it opens for one of our users. Returns the row to store, or `nil` for a
    /// duplicate. The recipient's consent is checked by the caller, once for the whole transaction.
    func admit(_ bytes: [UInt8], header: EnvelopeHeaderInfo, peerDomain: String, held: [String: Set<InboxKey>], now: Int64) async throws -> Admitted? {
        guard let tenant = tenantsByDomain[header.destination] else {
            throw Refusal("routing.unknown_destination", "this node does not serve \(header.destination)")
        }
        guard let originPeer = peerFor(domain: header.origin), originPeer.config.domain == peerDomain else {
            throw Refusal("peer.unknown", "\(peerDomain) may not send for \(header.origin)")
        }
        if held[tenant.name]?.contains(InboxKey(origin: header.origin, envelopeId: Data(header.envelopeId))) == true {
            return nil
        }
        try tenant.policy.checkPeer(header.origin, localDomain: tenant.domain)
        let opened = try await sealing.open(header.envelope, tenant: tenant, keys: keys, peer: originPeer, now: now)
        guard let localUser = tenant.nativeUser(opened.recipientURI) else {
            throw Refusal.unknownRecipient(opened.recipientURI)
        }
        guard let contact = try await contacts.contact(tenant, remote: opened.senderURI) else {
            throw Refusal("routing.unknown_contact", "\(opened.senderURI) has no contact account in \(tenant.app) on \(tenant.domain)")
        }
        var needsConsentOf: String?
        if case .content(let contentBytes) = opened.payload {
            let content = try MIMIContent(decoding: contentBytes)
            try tenant.policy.checkKind(content.kind.bridgeKind)
            try tenant.policy.checkSize(textBytes: content.text?.utf8.count ?? 0, attachments: content.externalParts.count)
            guard content.extensions.senderUri == nil || content.extensions.senderUri == opened.senderURI else {
                throw Refusal("envelope.bad_signature", "the content names a different sender than the envelope")
            }
            if tenant.config.policy.requireConsent { needsConsentOf = localUser }
        }
        try tenant.policy.checkRate(peer: header.origin)
        let conversation = ConversationKey(localUser: localUser, account: contact.account)
        return Admitted(
            tenant: tenant.name, envelope: InboundEnvelope(envelopeId: Data(header.envelopeId), conversation: conversation.rawValue, sealed: Data(bytes)),
            needsConsentOf: needsConsentOf)
    }

    /// Seals a receipt about `messageId` to `remoteURI` and queues it for its peer.
    func sendReceipt(
        tenant: TenantRuntime, localUser: String, remoteURI: String, conversation: ConversationKey, messageId: MessageId,
        status: BridgeEvent.Status, failure: BridgeEvent.Failure?, now: Int64
    ) async throws {
        guard let remote = MIMIAddress(remoteURI), let peer = peerFor(domain: remote.domain) else { return }
        let sender = try await keys.localKeys(tenant: tenant.name, uri: tenant.userURI(localUser))
        let recipient = try await keys.remoteBundle(tenant: tenant.name, uri: remoteURI, peer: peer)
        let expiresAt = now + Int64(config.limits.messageTTLSeconds) * 1000
        let sealed = try sealing.seal(
            payload: SealedPayload.receipt(messageId: messageId, status: status, failure: failure).encoded(), sender: sender,
            recipient: recipient, origin: tenant.domain, destination: remote.domain, sentAt: now, expiresAt: expiresAt)
        let envelope = OutboundEnvelope(
            envelopeId: Data(sealed.envelopeId), peer: peer.config.domain, conversation: conversation.rawValue,
            sealed: Data(sealed.bytes), canonicalId: nil, createdAt: now, expiresAt: expiresAt, nextAttemptAt: now)
        _ = try await store.ingest([IngressEvent(
            tenant: tenant.name, app: tenant.app, nativeEventKey: "\(status.rawValue)|\(messageId.hex)|\(localUser)", receivedAt: now,
            envelopes: [envelope])])
        wakeups.signal("send:\(tenant.name):\(peer.config.domain)")
    }

    /// The `Authorization` header for a federation request.
    func signRequest(method: String, path: String, destination: String, body: [UInt8]) -> String {
        FederationSignature.authorizationHeader(
            method: method, path: path, origin: config.domain, destination: destination,
            timestamp: Int64(Date().timeIntervalSince1970), body: body, key: nodeKey)
    }
}

/// Sends one tenant's outbox to one peer: batches into signed transactions, retries with backoff and jitter,
/// honours Retry-After, keeps conversation order, dead-letters expired envelopes and turns permanent rejections
/// into native failures.
struct PeerSender: Service {
    let node: BridgeNode
    let tenant: TenantRuntime
    let peer: String

    func run() async throws {
        let key = "send:\(tenant.name):\(peer)"
        await node.endEarlierLeases(tenant: tenant.name, peer: peer)
        var pauseUntil = ContinuousClock.now
        var linger = BatchLinger(milliseconds: node.config.limits.batchLingerMilliseconds)
        // Envelopes the peer accepted, still to be marked sent: the next claim does it in its transaction.
        var unsettled: [Data] = []
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            if ContinuousClock.now < pauseUntil {
                // A peer's Retry-After can be long: a graceful shutdown must not wait it out.
                let until = pauseUntil
                try? await cancelWhenGracefulShutdown { try await Task.sleep(until: until) }
                continue
            }
            var worked = false
            do {
                let outcome = try await runOnce(markingSent: unsettled)
                unsettled = outcome.accepted
                worked = outcome.worked
                if let pause = outcome.pauseMillis { pauseUntil = ContinuousClock.now + .milliseconds(pause) }
            } catch {
                node.logger.error("sender pass failed", metadata: ["tenant": .string(tenant.name), "peer": .string(peer), "error": .string("\(error)")])
            }
            await linger.afterPass(worked: worked, wakeups: node.wakeups, key: key)
        }
        if !unsettled.isEmpty {
            // Unmarked, they would go again after their lease (and be answered `duplicate`): mark them now.
            _ = try? await node.store.markOutboxSent(tenant: tenant.name, envelopeIds: unsettled, now: BridgeNode.nowMillis())
        }
    }

    /// One claim-and-send pass. `pauseMillis`: the peer asked us to wait (Retry-After) or is down. `markingSent`: the
    /// previous pass's `accepted`, marked sent by this pass's claim; `accepted`: what the peer took in this pass, for
    /// the next one to mark.
    func runOnce(markingSent: [Data] = []) async throws -> (worked: Bool, pauseMillis: Int64?, accepted: [Data]) {
        guard let peerRuntime = node.peers[peer] else { return (false, nil, markingSent) }
        let now = BridgeNode.nowMillis()
        let claim = try await node.store.claimOutbox(
            tenant: tenant.name, peer: peer, limit: node.config.limits.maxEnvelopesPerTransaction, maxPerConversation: 64,
            leaseMillis: 60_000, now: now, markingSent: markingSent)
        for expired in claim.expired {
            try await notifyFailure(expired.canonicalId, conversation: expired.conversation, failure: Refusal.expired().failure)
        }
        if !claim.expired.isEmpty { node.metrics.failed(tenant: tenant.name, peer: peer, reason: "delivery.expired", count: claim.expired.count) }
        guard !claim.items.isEmpty else { return (!claim.expired.isEmpty || claim.stoppedEarly, nil, []) }
        let items = claim.items.filter { $0.sealed != nil }
        // Usually one transaction; several, in order, when the claimed envelopes are too large for one body.
        var runs = TransactionBody.runs(items, origin: tenant.domain, maxBytes: node.config.limits.maxTransactionBytes) { $0.sealed?.count ?? 0 }
        var accepted: [Data] = []
        while !runs.isEmpty {
            let run = runs.removeFirst()
            switch try await transmit(run, claim: claim, to: peerRuntime) {
            case .answered(let sent):
                accepted += sent
            case .failed(let status, _, _) where status == 413 && run.count > 1:
                // The peer takes smaller bodies than we send (its max_transaction_bytes or max_envelopes_per_transaction
                // is lower): halve the run rather than refuse envelopes that would pass on their own.
                node.logger.notice("peer refused a transaction as too large; sending it in halves", metadata: [
                    "peer": .string(peer), "envelopes": .stringConvertible(run.count),
                ])
                runs.insert(Array(run[(run.count / 2)...]), at: 0)
                runs.insert(Array(run[..<(run.count / 2)]), at: 0)
            case .failed(let status, let retryAfter, let error):
                let permanent = [400, 401, 403, 404, 413].contains(status)
                if status == 413 {
                    // One envelope larger than the peer takes: it alone is refused; the rest go on.
                    try await retryAll(run, claim: claim, error: error, minimumDelay: nil, permanent: true)
                    continue
                }
                // This run and every later one go back to the queue, so no conversation skips ahead.
                try await retryAll(run + runs.joined(), claim: claim, error: error, minimumDelay: retryAfter, permanent: permanent)
                return (true, retryAfter ?? node.backoffMillis(attempt: items.map(\.attempt).max() ?? 1), accepted)
            }
        }
        node.metrics.queueDepth(peer: peer, depth: try await node.queues.depth(.outbox, tenant: tenant.name, peer: peer))
        return (true, nil, accepted)
    }

    /// What became of one transaction.
    enum TransmitOutcome {
        /// The peer answered per envelope; these it took (to be marked sent).
        case answered(accepted: [Data])
        /// No per-envelope answer: an HTTP status (0 when the peer was unreachable), the peer's Retry-After in
        /// milliseconds, and the error recorded on the rows.
        case failed(status: Int, retryAfterMillis: Int64?, error: String)
    }

    /// Sends `items` as one signed transaction and records the peer's answer for each envelope (retries, dead
    /// letters, native failures); a transaction the peer did not answer is left to the caller.
    private func transmit(_ items: [OutboxItem], claim: OutboxClaim, to peerRuntime: PeerRuntime) async throws -> TransmitOutcome {
        let ids = items.map { Hex.encode(Array($0.envelopeId)) }
        // Same envelopes → same transaction id, so a retried batch is recognised by the peer.
        let txnId = Hex.encode(Array(Hashing.sha256(Array(ids.joined(separator: ",").utf8)).prefix(16)))
        let bodyBytes = TransactionBody.json(origin: tenant.domain, sealed: items.compactMap(\.sealed))
        let path = "/v1/send/\(txnId)"
        let headers: HTTPHeaders = [
            "Content-Type": "application/json",
            "Authorization": node.signRequest(method: "PUT", path: path, destination: peer, body: bodyBytes),
        ]
        let started = ContinuousClock.now
        let answer: TransactionAnswer
        do {
            let response = try await node.http.execute(
                .PUT, url: peerRuntime.config.url + path, headers: headers, body: bodyBytes, timeout: .seconds(30), maxBodyBytes: 16 << 20)
            guard response.status == 200 else {
                let retryAfter = response.headers.first(name: "Retry-After").flatMap(Int64.init).map { $0 * 1000 }
                node.logger.warning("peer refused transaction", metadata: ["peer": .string(peer), "status": .stringConvertible(response.status), "body": .string(String(decoding: response.body.prefix(300), as: UTF8.self))])
                return .failed(status: response.status, retryAfterMillis: retryAfter, error: "peer.http_\(response.status)")
            }
            answer = try TransactionAnswer(json: response.body)
        } catch {
            node.logger.notice("peer unreachable", metadata: ["peer": .string(peer), "error": .string("\(error)")])
            return .failed(status: 0, retryAfterMillis: nil, error: "peer.unreachable")
        }
        node.metrics.latency("federation", tenant: tenant.name, peer: peer, nanoseconds: (ContinuousClock.now - started).nanoseconds)
        var sent: [Data] = [], retries: [RetrySchedule] = [], dead: [DeadLetter] = []
        let after = BridgeNode.nowMillis()
        for (index, item) in items.enumerated() {
            guard index < answer.results.count else {
                retries.append(RetrySchedule(envelopeId: item.envelopeId, nextAttemptAt: after + node.backoffMillis(attempt: item.attempt), error: "peer.short_answer"))
                continue
            }
            let result = answer.results[index]
            node.logger.debug("sent to peer", metadata: [
                "tenant": .string(tenant.name), "cid": BridgeNode.correlationId(item.envelopeId), "peer": .string(peer),
                "txn": .string(txnId), "status": .string(result.status), "attempt": .stringConvertible(item.attempt),
            ])
            switch result.status {
            case "accepted", "duplicate":
                sent.append(item.envelopeId)
                node.trace.record("sent", tenant: tenant.name, peer: peer, envelope: result.id, bytes: item.sealed?.count ?? 0, detail: result.status)
            case "rejected" where result.retryable == true:
                retries.append(RetrySchedule(envelopeId: item.envelopeId, nextAttemptAt: after + node.backoffMillis(attempt: item.attempt), error: result.code ?? "rejected"))
            default:
                node.trace.record("refused", tenant: tenant.name, peer: peer, envelope: result.id, bytes: item.sealed?.count ?? 0, detail: result.code ?? "rejected")
                node.logger.notice("peer refused envelope", metadata: [
                    "tenant": .string(tenant.name), "cid": BridgeNode.correlationId(item.envelopeId), "peer": .string(peer), "code": .string(result.code ?? "rejected"),
                ])
                dead.append(DeadLetter(envelopeId: item.envelopeId, reason: DeadLetterReason(rawValue: result.code ?? "rejected"), detail: result.message))
                try await notifyFailure(item.canonicalId, conversation: item.conversation, failure: BridgeEvent.Failure(code: result.code ?? "rejected", message: result.message ?? "refused by \(peer)"))
            }
        }
        if !sent.isEmpty { node.metrics.sent(tenant: tenant.name, peer: peer, count: sent.count) }
        if !retries.isEmpty {
            _ = try await node.store.scheduleOutboxRetry(tenant: tenant.name, leaseToken: claim.leaseToken, retries: retries, now: after)
            node.metrics.retried(tenant: tenant.name, peer: peer, count: retries.count)
        }
        if !dead.isEmpty {
            _ = try await node.store.deadLetterOutbox(tenant: tenant.name, dead, now: after)
            for letter in dead { node.metrics.failed(tenant: tenant.name, peer: peer, reason: letter.reason.rawValue) }
        }
        return .answered(accepted: sent)
    }

    private func retryAll(_ items: [OutboxItem], claim: OutboxClaim, error: String, minimumDelay: Int64?, permanent: Bool) async throws {
        let now = BridgeNode.nowMillis()
        if permanent {
            _ = try await node.store.deadLetterOutbox(tenant: tenant.name, items.map { DeadLetter(envelopeId: $0.envelopeId, reason: DeadLetterReason(rawValue: error), detail: nil) }, now: now)
            for item in items {
                try await notifyFailure(item.canonicalId, conversation: item.conversation, failure: BridgeEvent.Failure(code: error, message: "\(peer) refused the transaction"))
            }
            return
        }
        let retries = items.map { RetrySchedule(envelopeId: $0.envelopeId, nextAttemptAt: now + max(minimumDelay ?? 0, node.backoffMillis(attempt: $0.attempt)), error: error) }
        _ = try await node.store.scheduleOutboxRetry(tenant: tenant.name, leaseToken: claim.leaseToken, retries: retries, now: now)
        node.metrics.retried(tenant: tenant.name, peer: peer, count: items.count)
    }

    /// A message of ours that will never arrive → a native "failed" status in our app.
    private func notifyFailure(_ canonicalId: Data?, conversation raw: String, failure: BridgeEvent.Failure) async throws {
        guard let canonicalId, let conversation = ConversationKey(rawValue: raw) else { return }
        let natives = try await node.store.nativeIds(tenant: tenant.name, canonicalId: canonicalId, app: tenant.app)
        guard let native = natives.first(where: { $0.conversation == raw && $0.namesNativeMessage }) else { return }
        try await node.queueNotice(tenant: tenant, conversation: conversation, nativeTarget: native.nativeId, failure: failure, key: "dead|\(Hex.encode(Array(canonicalId)))", now: BridgeNode.nowMillis())
    }
}

/// Purges old rows and ciphertext on schedule, per the tenant's retention policy.
struct RetentionService: Service {
    let node: BridgeNode
    let tenant: TenantRuntime

    func run() async throws {
        let days = tenant.config.policy.retentionDays
        guard days > 0 else { return }
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            let cutoff = BridgeNode.nowMillis() - Int64(days * 86_400_000)
            do {
                let counts = try await node.store.purge(tenant: tenant.name, rowsBefore: cutoff, ciphertextBefore: cutoff)
                node.logger.debug("retention pass", metadata: ["tenant": .string(tenant.name), "outbox": .stringConvertible(counts.outboxRowsDeleted), "inbox": .stringConvertible(counts.inboxRowsDeleted)])
            } catch {
                node.logger.error("retention pass failed", metadata: ["tenant": .string(tenant.name), "error": .string("\(error)")])
            }
            // Service groups stop their services one by one: sleeping through a shutdown would hold up the rest.
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(600)) }
        }
    }
}
