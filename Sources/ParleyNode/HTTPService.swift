import Foundation
import Hummingbird
import Logging
import NIOCore
import ParleyCore
import ParleyCrypto
import ServiceLifecycle

/// The node's HTTP face: native webhooks, the federation API, health, readiness and metrics.
struct HTTPService: Service {
    let node: BridgeNode
    let onListening: @Sendable (Int) async -> Void

    func run() async throws {
        let router = Router()
        let node = self.node
        router.get("/healthz") { _, _ in "ok\n" }
        router.get("/readyz") { _, _ -> Response in
            node.ready.load(ordering: .relaxed)
                ? Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "ready\n")))
                : Response(status: .serviceUnavailable, body: .init(byteBuffer: ByteBuffer(string: "starting\n")))
        }
        router.get("/metrics") { _, _ -> Response in
            guard let registry = node.registry else { return Response(status: .notFound) }
            node.publishStoreStatistics()
            var buffer: [UInt8] = []
            registry.emit(into: &buffer)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(bytes: buffer)))
        }
        router.get("/debug/trace") { request, _ -> Response in
            let since = request.uri.queryParameters["since"].flatMap { Int(String($0)) } ?? 0
            return try Self.json(node.trace.since(since))
        }
        router.get("/.well-known/parley") { _, _ -> Response in
            try Self.json(node.descriptor)
        }
        router.get("/v1/keys/:user") { _, context -> Response in
            let raw = try context.parameters.require("user")
            let uri = raw.removingPercentEncoding ?? raw
            guard let address = MIMIAddress(uri), let tenant = node.tenantsByDomain[address.domain] else {
                return Self.error(.notFound, code: "routing.unknown_recipient", "this node does not serve \(uri)")
            }
            // A user of ours gets keys when first asked for: a peer may write to them before they ever wrote out.
            var bundle = try await node.keys.publishedBundle(tenant: tenant.name, uri: uri)
            if bundle == nil { bundle = try? await node.keys.localKeys(tenant: tenant.name, uri: uri).bundle }
            guard let bundle else {
                return Self.error(.notFound, code: "routing.unknown_recipient", "no key bundle for \(uri)")
            }
            return try Self.json(bundle)
        }
        router.get("/webhooks/:tenant") { request, context -> Response in
            // Meta's subscription handshake.
            let name = try context.parameters.require("tenant")
            guard let tenant = node.tenants[name] else { return Self.error(.notFound, code: "routing.unknown_tenant", "no tenant \(name)") }
            let query = request.uri.queryParameters
            guard query["hub.mode"].map(String.init) == "subscribe", let challenge = query["hub.challenge"].map(String.init),
                  let token = query["hub.verify_token"].map(String.init), !tenant.config.verifyToken.value.isEmpty,
                  Hashing.constantTimeEqual(Array(token.utf8), Array(tenant.config.verifyToken.value.utf8)) else {
                return Self.error(.forbidden, code: "webhook.verify_failed", "hub.verify_token does not match")
            }
            return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: challenge)))
        }
        router.post("/webhooks/:tenant") { request, context -> Response in
            let name = try context.parameters.require("tenant")
            let body: ByteBuffer
            do {
                body = try await request.body.collect(upTo: node.config.limits.maxWebhookBodyBytes)
            } catch {
                return Self.error(.contentTooLarge, code: "webhook.too_large", "the body is over \(node.config.limits.maxWebhookBodyBytes) bytes")
            }
            let answer = await node.handleWebhook(tenantName: name, body: Array(buffer: body), signature: request.headers[.init("X-Hub-Signature-256")!])
            var headers = HTTPFields()
            if let seconds = answer.retryAfterSeconds { headers[.retryAfter] = String(seconds) }
            return Response(status: .init(code: answer.status), headers: headers, body: .init(byteBuffer: ByteBuffer(string: answer.message + "\n")))
        }
        router.put("/v1/send/:txn") { request, context -> Response in
            let txn = try context.parameters.require("txn")
            let body: ByteBuffer
            do {
                body = try await request.body.collect(upTo: node.config.limits.maxTransactionBytes)
            } catch {
                return Self.error(.contentTooLarge, code: "federation.too_large", "the transaction is over \(node.config.limits.maxTransactionBytes) bytes")
            }
            let bytes = Array(buffer: body)
            let signature: FederationSignature
            do throws(FederationAuthError) {
                signature = try FederationSignature.verify(
                    header: request.headers[.authorization], method: "PUT", path: request.uri.path, destination: node.config.domain,
                    body: bytes, now: Int64(Date().timeIntervalSince1970), maxSkew: Int64(node.config.limits.clockSkewSeconds)
                ) { origin, keyId in
                    guard let peer = node.peers[origin], peer.publicKey.keyId == keyId else { return nil }
                    return peer.publicKey
                }
            } catch {
                node.logger.warning("federation request refused", metadata: ["code": .string(error.code.rawValue)])
                return Self.error(.unauthorized, code: error.code.rawValue, error.message)
            }
            let parsed: TransactionBody
            do {
                parsed = try TransactionBody(json: bytes)
            } catch {
                return Self.error(.badRequest, code: "federation.malformed", "the body is not a transaction: \(error)")
            }
            guard parsed.envelopes.count <= node.config.limits.maxEnvelopesPerTransaction else {
                return Self.error(.contentTooLarge, code: "federation.too_many", "at most \(node.config.limits.maxEnvelopesPerTransaction) envelopes per transaction")
            }
            do {
                let answer = try await node.receiveTransaction(txnId: txn, origin: signature.origin, body: parsed)
                return Self.json(encoded: answer.json)
            } catch let full as QueueFull {
                node.logger.notice("transaction pushed back", metadata: ["peer": .string(full.peer), "code": .string(full.code), "depth": .stringConvertible(full.depth)])
                var response = Self.error(.serviceUnavailable, code: full.code, full.description)
                response.headers[.retryAfter] = String(full.retryAfterSeconds)
                return response
            } catch {
                node.logger.error("could not store transaction", metadata: ["error": .string("\(error)")])
                return Self.error(.serviceUnavailable, code: "federation.unavailable", "storage unavailable; retry")
            }
        }

        let app = Application(
            router: router,
            configuration: .init(address: .hostname(node.config.listen.host, port: node.config.listen.port), serverName: "parley"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? node.config.listen.port
                node.boundPort.store(port, ordering: .relaxed)
                node.ready.store(true, ordering: .relaxed)
                node.logger.info("listening", metadata: ["address": .string("\(node.config.listen.host):\(port)")])
                await onListening(port)
            },
            logger: node.logger)
        try await app.run()
    }

    static func json(_ value: some Encodable) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return json(encoded: try encoder.encode(value))
    }

    /// A 200 answer carrying JSON that is already encoded.
    static func json(encoded bytes: some Sequence<UInt8>) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    static func error(_ status: HTTPResponse.Status, code: String, _ message: String) -> Response {
        let body = (try? JSONSerialization.data(withJSONObject: ["error": ["code": code, "message": message]], options: [.sortedKeys])) ?? Data()
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}
