import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// One simulated app back-end (WhatsApp Cloud API, Messenger Platform or Instagram Messaging): an HTTP server
/// with the native send API and the `/sim/` scripting API, plus the durable webhook dispatcher.
/// Run it in a `ServiceGroup` (it stops on graceful shutdown) or call `run()` in a task and cancel it.
public final class Simulator: Service, Sendable {
    /// The configuration it was started with.
    public let config: SimulatorConfig
    let engine: SimEngine
    let dispatcher: WebhookDispatcher
    let faults = FaultSwitches()
    /// Answers already given per `X-Parley-Idempotency-Key` (in memory: a simulator restart forgets them).
    let idempotentAnswers = Mutex<[String: JSONValue]>([:])
    private let logger: Logger

    private struct ListenerState {
        var port: Int?
        var running = false
        var down = false
        var failure: String?
        var stopped = false
    }
    private let listener = Mutex(ListenerState())

    /// Opens (or creates) the store under `config.dataDirectory`. Throws `SimulatorError` (`store`) when it cannot.
    public init(config: SimulatorConfig, logger: Logger = Logger(label: "parley.sim"), httpClient: HTTPClient = .shared) throws {
        self.config = config
        self.logger = logger
        self.engine = try SimEngine(config: config, logger: logger)
        self.dispatcher = WebhookDispatcher(engine: engine, client: httpClient, faults: faults)
    }

    // MARK: lifecycle

    /// Serves until cancelled or until graceful shutdown.
    public func run() async throws {
        defer { listener.withLock { $0.running = false; $0.stopped = true } }
        do {
            try await cancelWhenGracefulShutdown {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { await self.dispatcher.run() }
                    group.addTask { try await self.serveLoop() }
                    try await group.next()
                    group.cancelAll()
                }
            }
        } catch is CancellationError {
            return
        } catch {
            listener.withLock { $0.failure = "\(error)" }
            throw error
        }
    }

    private var isDown: Bool { listener.withLock { $0.down } }

    private func serveLoop() async throws {
        while !Task.isCancelled {
            if isDown {
                try await Task.sleep(for: .milliseconds(5))
                continue
            }
            let port = listener.withLock { $0.port } ?? config.port
            let app = makeApplication(port: port)
            // Hummingbird is stopped by graceful shutdown, never by cancellation: cancelling a server while a
            // connection is being accepted trips a NIO precondition. So the server runs in its own task.
            let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
            let ended = SimFlag()
            let server = Task {
                defer { ended.set() }
                try await group.run()
            }
            while !isDown, !Task.isCancelled, !ended.isSet {
                try? await Task.sleep(for: .milliseconds(5))
            }
            await group.triggerGracefulShutdown()
            let result = await server.result
            listener.withLock { $0.running = false }
            if case .failure(let error) = result, !isDown, !Task.isCancelled {
                throw SimulatorError(code: "listen", message: "cannot listen on \(config.host):\(port): \(error)", httpStatus: 500)
            }
            if !isDown, !Task.isCancelled, case .success = result {
                throw SimulatorError(code: "listen", message: "the HTTP server on port \(port) stopped unexpectedly", httpStatus: 500)
            }
        }
    }

    /// The bound port once the listener is up; throws if the simulator failed or stopped first.
    public func waitUntilListening() async throws -> Int {
        while true {
            let s = listener.withLock { $0 }
            if let f = s.failure { throw SimulatorError(code: "listen", message: f, httpStatus: 500) }
            if s.running, let p = s.port { return p }
            if s.stopped { throw SimulatorError(code: "stopped", message: "the simulator stopped before it was listening", httpStatus: 500) }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// The base URL of the running simulator (waits until it listens).
    public func baseURL() async throws -> String { "http://\(config.host):\(try await waitUntilListening())" }

    /// Closes the listener (connections are refused) until `comeUp()`; returns once it is closed.
    public func goDown() async throws {
        listener.withLock { $0.down = true }
        while listener.withLock({ $0.running }) { try await Task.sleep(for: .milliseconds(5)) }
    }

    /// Reopens the listener on the same port; returns once it accepts connections.
    public func comeUp() async throws {
        listener.withLock { $0.down = false }
        _ = try await waitUntilListening()
    }

    // MARK: in-process access (the same operations as the scripting API)

    /// Batches pending updates now, without waiting for the batching window.
    public func flushWebhooks() { dispatcher.flush() }
    /// Runs the node's GET verification handshake.
    public func verifyWebhook() async throws -> Bool { try await dispatcher.verify() }
    /// Arms a fault on the native API.
    public func setFault(_ fault: SimFault) { faults.set(fault) }
    /// Clears all faults.
    public func clearFaults() { faults.clear() }
    /// All webhook deliveries so far, oldest first.
    public func deliveries() async throws -> [SimWebhookDelivery] { try await engine.deliveries() }

    // MARK: HTTP

    private func makeApplication(port: Int) -> some ApplicationProtocol {
        let router = Router(context: BasicRequestContext.self)
        router.middlewares.add(FaultMiddleware(faults: faults, app: config.app))
        addNativeRoutes(router)
        addScriptingRoutes(router)
        let faults = self.faults
        let server = HTTPServerBuilder.http1(configuration: .init(additionalChannelHandlers: [DropConnectionHandler(faults: faults)]))
        var appLogger = logger
        appLogger[metadataKey: "sim"] = .string(config.app.rawValue)
        return Application(
            router: router,
            server: server,
            configuration: .init(address: .hostname(config.host, port: port), serverName: nil, reuseAddress: true),
            onServerRunning: { channel in
                self.listener.withLock { s in
                    if s.port == nil { s.port = channel.localAddress?.port }
                    s.running = true
                }
            },
            logger: appLogger)
    }

    private func addNativeRoutes(_ router: Router<BasicRequestContext>) {
        let engine = self.engine
        @Sendable func handle(_ request: Request, _ account: String?) async -> Response {
            do {
                try engine.authorize(header: request.headers[.authorization], queryToken: request.uri.queryParameters.get("access_token"))
                guard let account, !account.isEmpty else { throw GraphError.param("(#100) Unknown path") }
                let body = try await SimHTTP.body(request)
                // Parley extension: a bridge that resends after a crash names the send, and gets the first answer back
                // instead of a second message (the real APIs have no such key; see Documentation.swift).
                let key = request.headers[HTTPField.Name("X-Parley-Idempotency-Key")!].map { "\(account)|\($0)" }
                if let key, let previous = self.idempotentAnswers.withLock({ $0[key] }) { return SimHTTP.json(previous, status: 200) }
                let answer = try await engine.send(account: account, body: body)
                if let key {
                    self.idempotentAnswers.withLock { cache in
                        if cache.count >= 200_000 { cache.removeAll(keepingCapacity: true) }
                        cache[key] = answer
                    }
                }
                return SimHTTP.json(answer, status: 200)
            } catch let e as GraphError {
                return SimHTTP.json(e.body, status: e.httpStatus)
            } catch {
                return SimHTTP.json(GraphError.serverError().body, status: 500)
            }
        }
        // Hummingbird needs one parameter name per path position: `first` is the account, or the `v{N}.0` prefix.
        router.post("/:first/messages") { request, context in
            await handle(request, context.parameters.get("first"))
        }
        router.post("/:first/:account/messages") { request, context in
            let version = context.parameters.get("first") ?? ""
            guard version.hasPrefix("v"), Double(version.dropFirst()) != nil else {
                return SimHTTP.json(GraphError.param("(#100) Unknown path component: \(version)").body, status: 400)
            }
            return await handle(request, context.parameters.get("account"))
        }
    }

    private struct SendBody: Decodable {
        var to: String
        var text: String?
        var replyTo: String?
        var url: String?
        var kind: String?
        var caption: String?
        var group: String?
    }
    private struct ReactBody: Decodable {
        var to: String
        var messageId: String
        var emoji: String?
    }
    private struct EditBody: Decodable {
        var messageId: String
        var text: String?
    }
    private struct ReadBody: Decodable {
        var from: String
        var upTo: String?
    }
    private struct UserBody: Decodable {
        var id: String
        var name: String?
    }
    private struct GroupBody: Decodable {
        var id: String
        var members: [String]
    }
    private struct VerifyResult: Encodable {
        var ok: Bool
    }
    private struct Health: Encodable {
        var app: String
        var pendingWebhooks: Int
    }

    private func addScriptingRoutes(_ router: Router<BasicRequestContext>) {
        let engine = self.engine
        @Sendable func run(_ body: @escaping @Sendable () async throws -> Response) async -> Response {
            do {
                return try await body()
            } catch let e as SimulatorError {
                return SimHTTP.failure(e)
            } catch {
                return SimHTTP.failure(SimulatorError(code: "internal", message: "\(error)", httpStatus: 500))
            }
        }
        @Sendable func user(_ context: BasicRequestContext) -> String { context.parameters.get("user") ?? "" }

        let sim = router.group("sim")
        sim.get("health") { _, _ in
            await run {
                let pending = try await engine.store.pool.read { db in try SimStore.pendingCount(db) }
                return SimHTTP.encodable(Health(app: engine.app.rawValue, pendingWebhooks: pending))
            }
        }
        sim.post("users") { request, _ in
            await run {
                let b = try await SimHTTP.decode(UserBody.self, request)
                let u = SimUser(id: b.id, name: b.name ?? b.id)
                try await engine.createUser(u)
                return SimHTTP.encodable(u, status: 201)
            }
        }
        sim.get("users") { _, _ in await run { SimHTTP.encodable(try await engine.users()) } }
        sim.post("groups") { request, _ in
            await run {
                let b = try await SimHTTP.decode(GroupBody.self, request)
                try await engine.createGroup(id: b.id, members: b.members)
                return SimHTTP.json(obj(("id", .string(b.id))), status: 201)
            }
        }
        sim.get("users/:user/messages") { _, context in
            await run { SimHTTP.encodable(try await engine.mailbox(user: user(context))) }
        }
        sim.post("users/:user/send") { request, context in
            await run {
                let b = try await SimHTTP.decode(SendBody.self, request)
                return SimHTTP.encodable(try await engine.userSend(user: user(context), account: b.to, text: b.text, replyTo: b.replyTo,
                                                                   mediaURL: b.url, mediaKind: b.kind, caption: b.caption, group: b.group))
            }
        }
        sim.post("users/:user/react") { request, context in
            await run {
                let b = try await SimHTTP.decode(ReactBody.self, request)
                guard let emoji = b.emoji, !emoji.isEmpty else { throw SimulatorError(code: "bad_request", message: "react needs `emoji`") }
                return SimHTTP.encodable(try await engine.userReact(user: user(context), account: b.to, target: b.messageId, emoji: emoji))
            }
        }
        sim.post("users/:user/unreact") { request, context in
            await run {
                let b = try await SimHTTP.decode(ReactBody.self, request)
                return SimHTTP.encodable(try await engine.userReact(user: user(context), account: b.to, target: b.messageId, emoji: nil))
            }
        }
        sim.post("users/:user/edit") { request, context in
            await run {
                let b = try await SimHTTP.decode(EditBody.self, request)
                guard let text = b.text, !text.isEmpty else { throw SimulatorError(code: "bad_request", message: "edit needs `text`") }
                return SimHTTP.encodable(try await engine.userEdit(user: user(context), target: b.messageId, text: text))
            }
        }
        sim.post("users/:user/delete") { request, context in
            await run {
                let b = try await SimHTTP.decode(EditBody.self, request)
                return SimHTTP.encodable(try await engine.userDelete(user: user(context), target: b.messageId))
            }
        }
        sim.post("users/:user/read") { request, context in
            await run {
                let b = try await SimHTTP.decode(ReadBody.self, request)
                return SimHTTP.encodable(try await engine.userRead(user: user(context), account: b.from, upTo: b.upTo))
            }
        }
        sim.get("deliveries") { _, _ in await run { SimHTTP.encodable(try await engine.deliveries()) } }
        sim.post("flush") { _, _ in
            await run {
                self.dispatcher.flush()
                return SimHTTP.json(obj(("ok", true)), status: 200)
            }
        }
        sim.post("verify") { _, _ in await run { SimHTTP.encodable(VerifyResult(ok: try await self.dispatcher.verify())) } }
        sim.get("faults") { _, _ in await run { SimHTTP.encodable(self.faults.list()) } }
        sim.delete("faults") { _, _ in
            await run {
                self.faults.clear()
                return SimHTTP.json(obj(("ok", true)), status: 200)
            }
        }
        sim.post("faults") { request, _ in
            await run {
                let f = try await SimHTTP.decode(SimFault.self, request)
                guard FaultSwitches.modes.contains(f.mode) else {
                    throw SimulatorError(code: "bad_request", message: "fault mode must be one of \(FaultSwitches.modes.joined(separator: ", "))")
                }
                if f.mode == "down" {
                    // The listener cannot be reopened over HTTP once closed, so `down` always carries its duration.
                    let ms = max(1, f.delayMs ?? 1000)
                    Task {
                        try? await Task.sleep(for: .milliseconds(20))
                        try? await self.goDown()
                        try? await Task.sleep(for: .milliseconds(ms))
                        try? await self.comeUp()
                    }
                } else {
                    self.faults.set(f)
                }
                return SimHTTP.encodable(f)
            }
        }
    }
}

/// A thread-safe boolean that can be shared with escaping closures.
final class SimFlag: Sendable {
    private let value = Mutex(false)
    var isSet: Bool { value.withLock { $0 } }
    func set() { value.withLock { $0 = true } }
}
