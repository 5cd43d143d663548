// The HTTP client of the node's per-message calls (one native send per message): AsyncHTTPClient against the
// node's PooledHTTPClient, POSTing a 300-byte body to a minimal SwiftNIO server in the same process that answers
// a Graph-API-sized JSON at once on its event loop. One request at a time, and 8 at once (as the egress runs do),
// 64 requests per iteration; the time is wall clock for client and server together, on the same event loops.
import AsyncHTTPClient
import Benchmark
import NIOCore
import NIOHTTP1
import NIOPosix
import ParleyNode

private let body = Array(String(repeating: "x", count: 300).utf8)
private let answer = #"{"recipient_id":"1254477777772919","message_id":"m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM_QPpz5jdCK48PnKAjSdjfipqxqMvK8ma6AC8fplwlqLP_5cgXIbu7I3rBN0P"}"#

/// Answers every request with `answer`, keep-alive.
private final class AnswerHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .end = unwrapInboundIn(data) else { return }
        let headers = HTTPHeaders([("Content-Type", "application/json"), ("Content-Length", String(answer.utf8.count))])
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: answer)))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}

private final class ServerState: @unchecked Sendable {
    var channel: (any Channel)?
    var url = ""
    var ahc: HTTPClient?
    var pooled: PooledHTTPClient?

    func start() async throws {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                do {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(AnswerHandler())
                    return channel.eventLoop.makeSucceededVoidFuture()
                } catch {
                    return channel.eventLoop.makeFailedFuture(error)
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        self.channel = channel
        url = "http://127.0.0.1:\(channel.localAddress?.port ?? 0)/1254477777772919/messages"
        ahc = HTTPClient(eventLoopGroupProvider: .singleton)
        pooled = PooledHTTPClient()
    }

    func stop() async throws {
        try await ahc?.shutdown()
        await pooled?.shutdown()
        try await channel?.close()
    }

    func postAHC() async throws {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer token")
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(body)
        let response = try await ahc!.execute(request, timeout: .seconds(10))
        _ = try await response.body.collect(upTo: 1 << 20)
    }

    func postPooled() async throws {
        _ = try await pooled!.execute(.POST, url: url, headers: ["Authorization": "Bearer token", "Content-Type": "application/json"],
                                      body: body, timeout: .seconds(10))
    }
}

private func run(_ requests: Int, concurrently lanes: Int, _ post: @escaping @Sendable () async throws -> Void) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
        for _ in 0..<lanes { group.addTask { for _ in 0..<(requests / lanes) { try await post() } } }
        try await group.waitForAll()
    }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.throughput, .wallClock, .mallocCountTotal], timeUnits: .microseconds,
        warmupIterations: 3, maxDuration: .seconds(2), maxIterations: 1_000)
    let server = ServerState()
    for lanes in [1, 8] {
        Benchmark("HTTP POST ×64, \(lanes) at a time, AsyncHTTPClient") { _ in
            try await run(64, concurrently: lanes) { try await server.postAHC() }
        } setup: { try await server.start() } teardown: { try await server.stop() }
        Benchmark("HTTP POST ×64, \(lanes) at a time, PooledHTTPClient") { _ in
            try await run(64, concurrently: lanes) { try await server.postPooled() }
        } setup: { try await server.start() } teardown: { try await server.stop() }
    }
}
