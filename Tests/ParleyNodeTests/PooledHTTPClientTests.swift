import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization
import Testing

@testable import ParleyNode

/// A value shared between the test and the server's event loops.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    func withLock<R: Sendable>(_ body: (inout Value) -> R) -> R { mutex.withLock { body(&$0) } }
}

/// A loopback HTTP/1.1 server whose answers the test decides; counts connections.
final class ScriptedServer: Sendable {
    enum Behaviour: Sendable {
        /// Answer with this status and body (plus `Connection: close` when `close`, then close).
        case answer(status: Int, body: [UInt8], close: Bool = false)
        /// Answer, then close the connection without saying so (a server dropping an idle keep-alive connection).
        case answerThenDrop(body: [UInt8])
        /// Never answer.
        case silence
        /// Answer after a delay.
        case slow(milliseconds: Int64, body: [UInt8])
        /// Close the connection without answering.
        case drop
    }

    struct Seen: Sendable {
        var connections = 0
        var open = 0
        var maxOpen = 0
        var requests: [(head: HTTPRequestHead, body: [UInt8])] = []
    }

    let seen = Locked(Seen())
    /// Decides the answer from the request and how many requests this connection answered before.
    private let behaviour: @Sendable (HTTPRequestHead, [UInt8], Int) -> Behaviour
    private let channel: any Channel
    var port: Int { channel.localAddress?.port ?? 0 }

    convenience init(tls: NIOSSLContext? = nil, _ behaviour: @escaping @Sendable (HTTPRequestHead, [UInt8]) -> Behaviour) async throws {
        try await self.init(tls: tls, perConnection: { head, body, _ in behaviour(head, body) })
    }

    init(tls: NIOSSLContext? = nil, perConnection behaviour: @escaping @Sendable (HTTPRequestHead, [UInt8], Int) -> Behaviour) async throws {
        self.behaviour = behaviour
        let seen = self.seen
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                seen.withLock { s in
                    s.connections += 1
                    s.open += 1
                    s.maxOpen = max(s.maxOpen, s.open)
                }
                channel.closeFuture.whenComplete { _ in seen.withLock { $0.open -= 1 } }
                do {
                    if let tls { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls)) }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(ScriptedHandler(seen: seen, behaviour: behaviour))
                    return channel.eventLoop.makeSucceededVoidFuture()
                } catch {
                    return channel.eventLoop.makeFailedFuture(error)
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    func url(_ path: String, scheme: String = "http", host: String = "127.0.0.1") -> String { "\(scheme)://\(host):\(port)\(path)" }

    func stop() async { try? await channel.close() }
}

private final class ScriptedHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    let seen: Locked<ScriptedServer.Seen>
    let behaviour: @Sendable (HTTPRequestHead, [UInt8], Int) -> ScriptedServer.Behaviour
    var head: HTTPRequestHead?
    var answered = 0
    var body: [UInt8] = []

    init(seen: Locked<ScriptedServer.Seen>, behaviour: @escaping @Sendable (HTTPRequestHead, [UInt8], Int) -> ScriptedServer.Behaviour) {
        self.seen = seen
        self.behaviour = behaviour
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h): head = h; body = []
        case .body(let part): body += part.readableBytesView
        case .end:
            guard let head else { return }
            let request = (head, body)
            seen.withLock { $0.requests.append(request) }
            let behaviour = behaviour(head, body, answered)
            answered += 1
            switch behaviour {
            case .answer(let status, let bytes, let close):
                respond(context, status: status, body: bytes, close: close)
            case .answerThenDrop(let bytes):
                respond(context, status: 200, body: bytes, close: false)
                context.close(promise: nil)
            case .silence:
                break
            case .drop:
                context.close(promise: nil)
            case .slow(let ms, let bytes):
                context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(ms)) {
                    self.respond(context, status: 200, body: bytes, close: false)
                }
            }
        }
    }

    func respond(_ context: ChannelHandlerContext, status: Int, body: [UInt8], close: Bool) {
        var headers = HTTPHeaders([("Content-Length", String(body.count))])
        if close { headers.add(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .init(statusCode: status), headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: body)))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
            if close { context.close(promise: nil) }
        }
    }
}

@Suite("PooledHTTPClient")
struct PooledHTTPClientTests {
    @Test func sendsTheRequestAndReadsTheWholeAnswer() async throws {
        let server = try await ScriptedServer { head, body in
            .answer(status: 201, body: Array("\(head.method) \(head.uri) \(body.count)".utf8))
        }
        let client = PooledHTTPClient()
        let answer = try await client.execute(.POST, url: server.url("/v1/acct/messages?x=1"), headers: ["Authorization": "Bearer t"],
                                              body: Array(repeating: 7, count: 3000), timeout: .seconds(5))
        #expect(answer.status == 201)
        #expect(String(decoding: answer.body, as: UTF8.self) == "POST /v1/acct/messages?x=1 3000")
        let head = try #require(server.seen.withLock { $0.requests.first?.head })
        #expect(head.headers["Host"] == ["127.0.0.1:\(server.port)"])
        #expect(head.headers["Content-Length"] == ["3000"])
        #expect(head.headers["Authorization"] == ["Bearer t"])
        await client.shutdown()
        await server.stop()
    }

    @Test func reusesOneKeptAliveConnectionForSequentialRequests() async throws {
        let server = try await ScriptedServer { _, _ in .answer(status: 200, body: Array("ok".utf8)) }
        let client = PooledHTTPClient()
        for _ in 0..<20 {
            #expect(try await client.execute(.GET, url: server.url("/x"), timeout: .seconds(5)).status == 200)
        }
        #expect(server.seen.withLock { $0.connections } == 1)
        #expect(client.openConnections(to: server.url("/")) == 1)
        await client.shutdown()
        await server.stop()
    }

    @Test func neverOpensMoreThanItsConnectionLimitAndQueuesTheRest() async throws {
        let server = try await ScriptedServer { _, _ in .slow(milliseconds: 30, body: Array("ok".utf8)) }
        let client = PooledHTTPClient(maxConnectionsPerOrigin: 2)
        try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<10 { group.addTask { try await client.execute(.GET, url: server.url("/slow"), timeout: .seconds(10)).status } }
            for try await status in group { #expect(status == 200) }
        }
        let seen = server.seen.withLock { $0 }
        #expect(seen.requests.count == 10)
        #expect(seen.maxOpen <= 2)
        #expect(seen.connections == 2)
        await client.shutdown()
        await server.stop()
    }

    @Test func aSilentServerTimesOutAndItsConnectionIsNotReused() async throws {
        let server = try await ScriptedServer { head, _ in head.uri == "/silent" ? .silence : .answer(status: 200, body: []) }
        let client = PooledHTTPClient()
        let started = ContinuousClock.now
        do {
            _ = try await client.execute(.GET, url: server.url("/silent"), timeout: .milliseconds(200))
            Issue.record("expected a timeout")
        } catch {
            #expect(error.code == .timeout)
        }
        #expect(ContinuousClock.now - started < .seconds(2))
        #expect(try await client.execute(.GET, url: server.url("/fine"), timeout: .seconds(5)).status == 200)
        #expect(server.seen.withLock { $0.connections } == 2)
        await client.shutdown()
        await server.stop()
    }

    @Test func aKeptAliveConnectionTheServerDroppedIsReplacedWithoutFailingTheRequest() async throws {
        let server = try await ScriptedServer { _, _ in .answerThenDrop(body: Array("ok".utf8)) }
        let client = PooledHTTPClient()
        for _ in 0..<3 {
            #expect(try await client.execute(.POST, url: server.url("/m"), body: [1], timeout: .seconds(5)).status == 200)
            // Let the close arrive, as it would for a server's idle timeout.
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(server.seen.withLock { $0.requests.count } == 3)
        await client.shutdown()
        await server.stop()
    }

    @Test func aRequestOnAKeptAliveConnectionThatClosesBeforeAnsweringIsSentOnceMoreOnAFreshOne() async throws {
        let server = try await ScriptedServer(perConnection: { _, _, answered in answered == 0 ? .answer(status: 200, body: Array("ok".utf8)) : .drop })
        let client = PooledHTTPClient()
        for _ in 0..<3 {
            #expect(try await client.execute(.POST, url: server.url("/m"), body: [1], timeout: .seconds(5)).status == 200)
        }
        let seen = server.seen.withLock { $0 }
        #expect(seen.connections == 3)
        #expect(seen.requests.count == 5)
        await client.shutdown()
        await server.stop()
    }

    @Test func aFreshConnectionThatClosesBeforeAnsweringFailsWithoutASecondTry() async throws {
        let server = try await ScriptedServer { _, _ in .drop }
        let client = PooledHTTPClient()
        do {
            _ = try await client.execute(.POST, url: server.url("/m"), body: [1], timeout: .seconds(5))
            Issue.record("expected connection_closed")
        } catch {
            #expect(error.code == .connectionClosed)
        }
        #expect(server.seen.withLock { $0.requests.count } == 1)
        await client.shutdown()
        await server.stop()
    }

    @Test func connectionCloseIsHonoured() async throws {
        let server = try await ScriptedServer { _, _ in .answer(status: 200, body: [], close: true) }
        let client = PooledHTTPClient()
        for _ in 0..<3 { #expect(try await client.execute(.GET, url: server.url("/"), timeout: .seconds(5)).status == 200) }
        #expect(server.seen.withLock { $0.connections } == 3)
        #expect(client.openConnections(to: server.url("/")) == 0)
        await client.shutdown()
        await server.stop()
    }

    @Test func anAnswerOverTheLimitIsRefused() async throws {
        let server = try await ScriptedServer { _, _ in .answer(status: 200, body: Array(repeating: 65, count: 10_000)) }
        let client = PooledHTTPClient()
        do {
            _ = try await client.execute(.GET, url: server.url("/big"), timeout: .seconds(5), maxBodyBytes: 1000)
            Issue.record("expected body_too_large")
        } catch {
            #expect(error.code == .bodyTooLarge)
        }
        await client.shutdown()
        await server.stop()
    }

    @Test func aRefusedConnectionAndABadURLHaveTheirOwnCodes() async throws {
        let closed = try await ScriptedServer { _, _ in .silence }
        let port = closed.port
        await closed.stop()
        let client = PooledHTTPClient()
        do {
            _ = try await client.execute(.GET, url: "http://127.0.0.1:\(port)/", timeout: .seconds(5))
            Issue.record("expected connect_failed")
        } catch {
            #expect(error.code == .connectFailed)
        }
        #expect(client.openConnections(to: "http://127.0.0.1:\(port)/") == 0)
        for bad in ["ftp://host/x", "http://", "http://host:99999/", "http://[::1/x"] {
            do {
                _ = try await client.execute(.GET, url: bad, timeout: .seconds(1))
                Issue.record("expected bad_url for \(bad)")
            } catch {
                #expect(error.code == .badURL)
            }
        }
        await client.shutdown()
    }

    @Test func splitsURLsIntoOriginAndPath() throws {
        let (a, pathA) = try PooledHTTPClient.split("https://graph.example.com/v21.0/123/messages?x=1")
        #expect(a == .init(tls: true, host: "graph.example.com", port: 443))
        #expect(pathA == "/v21.0/123/messages?x=1")
        let (b, pathB) = try PooledHTTPClient.split("http://[::1]:8080")
        #expect(b == .init(tls: false, host: "::1", port: 8080))
        #expect(pathB == "/")
        let (c, pathC) = try PooledHTTPClient.split("http://127.0.0.1:9?q")
        #expect(c == .init(tls: false, host: "127.0.0.1", port: 9))
        #expect(pathC == "/?q")
    }

    @Test func afterShutdownRequestsAreRefused() async throws {
        let client = PooledHTTPClient()
        await client.shutdown()
        do {
            _ = try await client.execute(.GET, url: "http://127.0.0.1:1/", timeout: .seconds(1))
            Issue.record("expected shutdown")
        } catch {
            #expect(error.code == .shutdown)
        }
    }

    @Test func speaksTLSAndVerifiesTheServerCertificate() async throws {
        let certificate = try NIOSSLCertificate(bytes: Array(Self.certificatePEM.utf8), format: .pem)
        let key = try NIOSSLPrivateKey(bytes: Array(Self.keyPEM.utf8), format: .pem)
        let serverContext = try NIOSSLContext(configuration: .makeServerConfiguration(certificateChain: [.certificate(certificate)], privateKey: .privateKey(key)))
        let server = try await ScriptedServer(tls: serverContext) { _, _ in .answer(status: 200, body: Array("secret".utf8)) }

        var trusting = TLSConfiguration.makeClientConfiguration()
        trusting.trustRoots = .certificates([certificate])
        let client = PooledHTTPClient(tls: trusting)
        let answer = try await client.execute(.GET, url: server.url("/", scheme: "https", host: "localhost"), timeout: .seconds(5))
        #expect(answer.status == 200)
        #expect(answer.body == Array("secret".utf8))

        // The system's roots do not know this self-signed certificate.
        let strict = PooledHTTPClient()
        do {
            _ = try await strict.execute(.GET, url: server.url("/", scheme: "https", host: "localhost"), timeout: .seconds(5))
            Issue.record("expected the handshake to fail")
        } catch {
            #expect(error.code == .connectFailed || error.code == .connectionClosed)
        }
        await client.shutdown()
        await strict.shutdown()
        await server.stop()
    }

    // A self-signed test certificate for localhost / 127.0.0.1 (P-256, valid until 2126); its key is for this test only.
    static let certificatePEM = """
        -----BEGIN CERTIFICATE-----
        MIIBmjCCAUGgAwIBAgIUF2O05LAbu+LVv1v9WDnql6W4A/cwCgYIKoZIzj0EAwIw
        FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTIwMjE2MzAwOFoYDzIxMjYxMTA4
        MTYzMDA4WjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO
        PQMBBwNCAATrcBW1eQR8MgdTkyODywPoca4U5x2UKHgfYdLcvJZ2tYQPtPWGIzko
        DIy5uDfJ9ZBI2HHyZAX/Z7mrd6U9UQYro28wbTAdBgNVHQ4EFgQUp6lok0NrZeZo
        uSblGdKe+mq4n2wwHwYDVR0jBBgwFoAUp6lok0NrZeZouSblGdKe+mq4n2wwDwYD
        VR0TAQH/BAUwAwEB/zAaBgNVHREEEzARgglsb2NhbGhvc3SHBH8AAAEwCgYIKoZI
        zj0EAwIDRwAwRAIgD/NntEi5thcmfPrGRa8th1BQeURCKgkD4Y7lNAI51bECIDXw
        W/JToSuUerOJl8TCo+LntuuMjhPnRfPffwp2K2iS
        -----END CERTIFICATE-----
        """
    static let keyPEM = """
        -----BEGIN PRIVATE KEY-----
        MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgorJ79ui9ir1C3lkU
        WfWojD8GLaWvRvc2M1ohCi4+FrahRANCAATrcBW1eQR8MgdTkyODywPoca4U5x2U
        KHgfYdLcvJZ2tYQPtPWGIzkoDIy5uDfJ9ZBI2HHyZAX/Z7mrd6U9UQYr
        -----END PRIVATE KEY-----
        """
}
