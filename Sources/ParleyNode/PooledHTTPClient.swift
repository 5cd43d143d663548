import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// A failure of ``PooledHTTPClient``, with a stable code.
public struct HTTPClientFailure: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// The URL is not `http(s)://host[:port]/path`.
        case badURL = "http.bad_url"
        /// No connection could be opened (refused, unresolvable, connect timeout, TLS handshake).
        case connectFailed = "http.connect_failed"
        /// No answer before the deadline; the connection is closed, the request may or may not have been processed.
        case timeout = "http.timeout"
        /// The connection closed before the answer was complete.
        case connectionClosed = "http.connection_closed"
        /// The answer's body is over the caller's limit.
        case bodyTooLarge = "http.body_too_large"
        /// The client was shut down.
        case shutdown = "http.shutdown"
    }

    public var code: Code
    /// What happened, for a person: which host, which limit.
    public var message: String
    /// Nothing of an answer had arrived when this happened (the request may be sent again on a fresh connection
    /// when the connection was a reused one that the server had already closed).
    var beforeAnyResponse = false

    init(_ code: Code, _ message: String, beforeAnyResponse: Bool = false) {
        self.code = code
        self.message = message
        self.beforeAnyResponse = beforeAnyResponse
    }

    public var description: String { "\(message) [\(code.rawValue)]" }
}

/// An answer read whole.
public struct HTTPClientAnswer: Sendable {
    /// The status code, e.g. 200.
    public var status: Int
    public var headers: HTTPHeaders
    /// The whole body (chunked answers are joined).
    public var body: [UInt8]
}

/// The node's HTTP/1.1 client for its per-message calls (the app's native send API, peers' federation API, key
/// bundles): keep-alive connections pooled per origin, at most one request in flight on each (no pipelining, so a
/// broken connection leaves at most one request in doubt), TLS for `https://` with the system's trust roots.
///
/// Why not AsyncHTTPClient: on loopback it spent 150–400 µs of CPU per request against 45–100 µs here (same
/// server, same concurrency; see BENCHMARKS.md), and the native send is one request per message. The answer is
/// read whole on the event loop and handed over once, so a request costs one hop into the caller's task.
public final class PooledHTTPClient: Sendable {
    /// Where requests go: one pool of connections each.
    struct Origin: Hashable, Sendable {
        var tls: Bool
        var host: String
        var port: Int
    }

    private struct Idle {
        var channel: any Channel
        var since: NIODeadline
    }

    private struct Waiter {
        var id: Int
        var continuation: CheckedContinuation<(any Channel)?, any Error>
    }

    private struct Pool {
        var idle: [Idle] = []
        /// Connections open or being opened.
        var open = 0
        var waiters: [Waiter] = []
    }

    private struct State {
        var pools: [Origin: Pool] = [:]
        var nextWaiter = 0
        var shutDown = false
    }

    private let group: any EventLoopGroup
    private let maxConnectionsPerOrigin: Int
    private let connectTimeout: TimeAmount
    private let idleTimeout: TimeAmount
    private let tlsConfiguration: TLSConfiguration
    /// Made on the first `https://` connection: loading the trust roots costs memory a plain-HTTP node never needs.
    private let tlsContext = Mutex<Result<NIOSSLContext, HTTPClientFailure>?>(nil)
    private let state = Mutex(State())

    /// - Parameters:
    ///   - maxConnectionsPerOrigin: requests beyond this many at once to one origin wait for a free connection.
    ///   - idleTimeout: an idle connection older than this is closed instead of reused.
    ///   - tls: the TLS settings for `https://` (default: certificate and hostname verification against the system
    ///     trust roots).
    public init(
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, maxConnectionsPerOrigin: Int = 32,
        connectTimeout: Duration = .seconds(5), idleTimeout: Duration = .seconds(50),
        tls: TLSConfiguration = .makeClientConfiguration()
    ) {
        self.group = group
        self.maxConnectionsPerOrigin = max(1, maxConnectionsPerOrigin)
        self.connectTimeout = .nanoseconds(connectTimeout.nanoseconds)
        self.idleTimeout = .nanoseconds(idleTimeout.nanoseconds)
        self.tlsConfiguration = tls
    }

    private func sslContext(for host: String) throws(HTTPClientFailure) -> NIOSSLContext {
        let result = tlsContext.withLock { cached in
            if let cached { return cached }
            let made: Result<NIOSSLContext, HTTPClientFailure>
            do {
                made = .success(try NIOSSLContext(configuration: tlsConfiguration))
            } catch {
                made = .failure(HTTPClientFailure(.connectFailed, "cannot set up TLS for \(host): \(error)"))
            }
            cached = made
            return made
        }
        return try result.get()
    }

    /// Sends one request and reads its whole answer.
    /// - Parameters:
    ///   - url: `http://` or `https://` URL.
    ///   - maxBodyBytes: a longer answer fails with ``HTTPClientFailure/Code/bodyTooLarge``.
    ///   - timeout: for the whole exchange, waiting for a free connection included.
    public func execute(
        _ method: HTTPMethod, url: String, headers: HTTPHeaders = [:], body: [UInt8] = [], timeout: Duration,
        maxBodyBytes: Int = 1 << 20
    ) async throws(HTTPClientFailure) -> HTTPClientAnswer {
        let (origin, path) = try Self.split(url)
        let deadline = NIODeadline.now() + .nanoseconds(timeout.nanoseconds)
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: path, headers: headers)
        if !head.headers.contains(name: "Host") {
            head.headers.add(name: "Host", value: origin.port == (origin.tls ? 443 : 80) ? origin.host : "\(origin.host):\(origin.port)")
        }
        head.headers.replaceOrAdd(name: "Content-Length", value: String(body.count))
        var buffer = ByteBufferAllocator().buffer(capacity: body.count)
        buffer.writeBytes(body)
        let request = ConnectionHandler.Request(head: head, body: buffer, deadline: deadline, maxBodyBytes: maxBodyBytes)
        // A kept-alive connection the server closed meanwhile fails before any answer: send once more on a new one.
        var fresh = false
        while true {
            let (channel, reused) = try await acquire(origin, deadline: deadline, fresh: fresh)
            do {
                let answer = try await send(request, on: channel)
                release(channel, origin: origin, reusable: answer.keepAlive)
                return answer.answer
            } catch {
                release(channel, origin: origin, reusable: false)
                let failure = error as? HTTPClientFailure ?? HTTPClientFailure(.connectionClosed, "\(error)")
                if reused, failure.beforeAnyResponse, failure.code == .connectionClosed, !fresh {
                    fresh = true
                    continue
                }
                throw failure
            }
        }
    }

    /// Closes idle connections and refuses new requests; requests in flight finish or fail.
    public func shutdown() async {
        let (idle, waiters) = state.withLock { s -> ([any Channel], [Waiter]) in
            s.shutDown = true
            let idle = s.pools.values.flatMap { $0.idle.map(\.channel) }
            let waiters = s.pools.values.flatMap(\.waiters)
            for key in s.pools.keys {
                s.pools[key]?.idle = []
                s.pools[key]?.waiters = []
            }
            return (idle, waiters)
        }
        for waiter in waiters { waiter.continuation.resume(throwing: HTTPClientFailure(.shutdown, "the HTTP client is shut down")) }
        for channel in idle { try? await channel.close() }
    }

    /// Connections open now (idle or busy) to `url`'s origin, for tests and diagnostics.
    public func openConnections(to url: String) -> Int {
        guard let (origin, _) = try? Self.split(url) else { return 0 }
        return state.withLock { $0.pools[origin]?.open ?? 0 }
    }

    // MARK: Connections

    private enum Acquired {
        case reuse(any Channel)
        case connect
        case wait(id: Int)
        case refused
    }

    /// An idle connection, a new one, or the next one freed within the deadline. `fresh`: never a reused one.
    private func acquire(_ origin: Origin, deadline: NIODeadline, fresh: Bool) async throws(HTTPClientFailure) -> (any Channel, reused: Bool) {
        let now = NIODeadline.now()
        var stale: [any Channel] = []
        let decision = state.withLock { s -> Acquired in
            if s.shutDown { return .refused }
            var pool = s.pools[origin] ?? Pool()
            defer { s.pools[origin] = pool }
            while !fresh, let idle = pool.idle.popLast() {
                if idle.channel.isActive, now - idle.since < idleTimeout { return .reuse(idle.channel) }
                pool.open -= 1
                stale.append(idle.channel)
            }
            if pool.open < maxConnectionsPerOrigin {
                pool.open += 1
                return .connect
            }
            s.nextWaiter += 1
            return .wait(id: s.nextWaiter)
        }
        for channel in stale { channel.close(promise: nil) }
        switch decision {
        case .refused:
            throw HTTPClientFailure(.shutdown, "the HTTP client is shut down")
        case .reuse(let channel):
            return (channel, true)
        case .connect:
            return (try await connect(origin, deadline: deadline), false)
        case .wait(let id):
            let handed: (any Channel)?
            do {
                handed = try await withCheckedThrowingContinuation { continuation in
                    state.withLock { s in s.pools[origin, default: Pool()].waiters.append(Waiter(id: id, continuation: continuation)) }
                    group.next().scheduleTask(deadline: deadline) { [weak self] in self?.expireWaiter(id, origin: origin) }
                }
            } catch {
                throw error as? HTTPClientFailure ?? HTTPClientFailure(.timeout, "\(error)")
            }
            // nil: a connection closed, and its slot is ours to open a new one in.
            if let handed { return (handed, true) }
            return (try await connect(origin, deadline: deadline), false)
        }
    }

    private func expireWaiter(_ id: Int, origin: Origin) {
        let waiter = state.withLock { s -> Waiter? in
            guard let index = s.pools[origin]?.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return s.pools[origin]?.waiters.remove(at: index)
        }
        waiter?.continuation.resume(throwing: HTTPClientFailure(
            .timeout, "no free connection to \(origin.host):\(origin.port) before the deadline (\(maxConnectionsPerOrigin) busy)"))
    }

    private func connect(_ origin: Origin, deadline: NIODeadline) async throws(HTTPClientFailure) -> any Channel {
        let remaining = deadline - NIODeadline.now()
        let tlsContext: NIOSSLContext?
        do {
            tlsContext = origin.tls ? try sslContext(for: origin.host) : nil
        } catch {
            release(nil, origin: origin, reusable: false)
            throw error
        }
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(min(connectTimeout, max(remaining, .milliseconds(1))))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { [tlsContext] channel in
                do {
                    if origin.tls {
                        guard let tlsContext else { throw HTTPClientFailure(.connectFailed, "TLS is not available") }
                        let sni = Self.isIPAddress(origin.host) ? nil : origin.host
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tlsContext, serverHostname: sni))
                    }
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(ConnectionHandler())
                    return channel.eventLoop.makeSucceededVoidFuture()
                } catch {
                    return channel.eventLoop.makeFailedFuture(error)
                }
            }
        do {
            return try await bootstrap.connect(host: origin.host, port: origin.port).get()
        } catch {
            // The slot was counted when the connection was decided on; give it to whoever waits.
            release(nil, origin: origin, reusable: false)
            throw HTTPClientFailure(.connectFailed, "cannot connect to \(origin.host):\(origin.port): \(error)")
        }
    }

    private enum Released {
        case keptIdle
        case handedTo(Waiter, any Channel)
        /// The connection is done; its slot goes to the waiter, who opens a new one.
        case closed(slotTo: Waiter?)
    }

    /// Returns a connection after use, or only its slot (`channel` nil: a connect that failed), to the pool.
    private func release(_ channel: (any Channel)?, origin: Origin, reusable: Bool) {
        let now = NIODeadline.now()
        let outcome = state.withLock { s -> Released in
            var pool = s.pools[origin] ?? Pool()
            defer { s.pools[origin] = pool }
            if let channel, reusable, channel.isActive, !s.shutDown {
                if !pool.waiters.isEmpty { return .handedTo(pool.waiters.removeFirst(), channel) }
                pool.idle.append(Idle(channel: channel, since: now))
                return .keptIdle
            }
            pool.open -= 1
            guard !pool.waiters.isEmpty, !s.shutDown else { return .closed(slotTo: nil) }
            pool.open += 1
            return .closed(slotTo: pool.waiters.removeFirst())
        }
        switch outcome {
        case .keptIdle:
            break
        case .handedTo(let waiter, let channel):
            waiter.continuation.resume(returning: channel)
        case .closed(let waiter):
            channel?.close(promise: nil)
            waiter?.continuation.resume(returning: nil)
        }
    }

    private func send(_ request: ConnectionHandler.Request, on channel: any Channel) async throws -> ConnectionHandler.Answer {
        let promise = channel.eventLoop.makePromise(of: ConnectionHandler.Answer.self)
        channel.writeAndFlush(ConnectionHandler.Work(request: request, promise: promise), promise: nil)
        return try await promise.futureResult.get()
    }

    // MARK: URLs

    /// `scheme://host[:port][/path]` → origin and path (with query), without Foundation's URL parser.
    static func split(_ url: String) throws(HTTPClientFailure) -> (Origin, path: String) {
        let tls: Bool
        let rest: Substring
        if url.hasPrefix("http://") {
            tls = false
            rest = url.dropFirst(7)
        } else if url.hasPrefix("https://") {
            tls = true
            rest = url.dropFirst(8)
        } else {
            throw HTTPClientFailure(.badURL, "\(url.prefix(200)) is not an http:// or https:// URL")
        }
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        var path = String(rest[authorityEnd...])
        if path.isEmpty || path.first == "?" { path = "/" + path }
        var host = Substring(authority)
        var port = tls ? 443 : 80
        if authority.first == "[" {
            guard let close = authority.firstIndex(of: "]") else { throw HTTPClientFailure(.badURL, "\(url.prefix(200)) has an unclosed IPv6 address") }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if after.first == ":" {
                guard let p = Int(after.dropFirst()), (1...65535).contains(p) else { throw HTTPClientFailure(.badURL, "\(url.prefix(200)) has a bad port") }
                port = p
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            guard let p = Int(authority[authority.index(after: colon)...]), (1...65535).contains(p) else {
                throw HTTPClientFailure(.badURL, "\(url.prefix(200)) has a bad port")
            }
            port = p
        }
        guard !host.isEmpty, !host.contains("@") else { throw HTTPClientFailure(.badURL, "\(url.prefix(200)) has no usable host") }
        return (Origin(tls: tls, host: String(host), port: port), path)
    }

    static func isIPAddress(_ host: String) -> Bool {
        host.contains(":") || host.split(separator: ".").count == 4 && host.allSatisfy { $0 == "." || $0.isNumber }
    }
}

/// One connection's side of the exchange: writes a request, reads its answer whole, fails it on a deadline, an
/// error or an early close. One request at a time.
private final class ConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = Work
    typealias OutboundOut = HTTPClientRequestPart

    struct Request: Sendable {
        var head: HTTPRequestHead
        var body: ByteBuffer
        var deadline: NIODeadline
        var maxBodyBytes: Int
    }

    struct Answer: Sendable {
        var answer: HTTPClientAnswer
        var keepAlive: Bool
    }

    struct Work: Sendable {
        var request: Request
        var promise: EventLoopPromise<Answer>
    }

    private var current: Work?
    private var timeout: Scheduled<Void>?
    private var responseHead: HTTPResponseHead?
    private var body: ByteBuffer?
    private var requestKeepAlive = true

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let work = unwrapOutboundIn(data)
        guard current == nil else {
            work.promise.fail(HTTPClientFailure(.connectionClosed, "connection already busy", beforeAnyResponse: true))
            return
        }
        current = work
        responseHead = nil
        body = nil
        requestKeepAlive = work.request.head.isKeepAlive
        timeout = context.eventLoop.assumeIsolated().scheduleTask(deadline: work.request.deadline) { [weak self] in
            self?.fail(HTTPClientFailure(.timeout, "no answer from \(work.request.head.uri) before the deadline"), context: context)
        }
        context.write(wrapOutboundOut(.head(work.request.head)), promise: nil)
        if work.request.body.readableBytes > 0 {
            context.write(wrapOutboundOut(.body(.byteBuffer(work.request.body))), promise: nil)
        }
        context.write(wrapOutboundOut(.end(nil)), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let work = current else { return }
        switch unwrapInboundIn(data) {
        case .head(let head):
            responseHead = head
        case .body(var part):
            if (body?.readableBytes ?? 0) + part.readableBytes > work.request.maxBodyBytes {
                fail(HTTPClientFailure(.bodyTooLarge, "the answer from \(work.request.head.uri) is over \(work.request.maxBodyBytes) bytes"), context: context)
                return
            }
            if body == nil { body = part } else { body!.writeBuffer(&part) }
        case .end:
            guard let head = responseHead else { return }
            current = nil
            timeout?.cancel()
            let bytes = body.map { Array($0.readableBytesView) } ?? []
            work.promise.succeed(Answer(
                answer: HTTPClientAnswer(status: Int(head.status.code), headers: head.headers, body: bytes),
                keepAlive: head.isKeepAlive && requestKeepAlive))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(HTTPClientFailure(.connectionClosed, "the connection closed before the answer was complete", beforeAnyResponse: responseHead == nil), context: context)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(HTTPClientFailure(.connectionClosed, "connection error: \(error)", beforeAnyResponse: responseHead == nil), context: context)
    }

    private func fail(_ failure: HTTPClientFailure, context: ChannelHandlerContext) {
        guard let work = current else { return }
        current = nil
        timeout?.cancel()
        work.promise.fail(failure)
        context.close(promise: nil)
    }
}

extension Duration {
    /// Whole nanoseconds (saturating).
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        return scaled.addingReportingOverflow(attoseconds / 1_000_000_000).partialValue
    }
}
