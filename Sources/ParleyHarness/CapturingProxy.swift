import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Synchronization

/// Sits between nodes on the federation path and keeps a copy of every request body, so tests can prove that
/// nothing readable crosses an operator boundary. Forwards `PUT /v1/send/…` and `GET /v1/keys/…` unchanged.
public final class CapturingProxy: Sendable {
    public let port: Int
    let target: String
    let http: HTTPClient
    private let captured = Mutex<[[UInt8]]>([])
    private let group = Mutex<ServiceGroup?>(nil)

    /// A proxy on `port` (127.0.0.1) in front of `target` (`http://127.0.0.1:PORT`).
    public init(port: Int, target: String, http: HTTPClient = .shared) {
        self.port = port
        self.target = target
        self.http = http
    }

    /// Every request and response body seen so far.
    public var bodies: [[UInt8]] { captured.withLock { $0 } }

    public func start() async throws {
        let router = Router()
        let proxy = self
        router.put("/v1/send/:txn") { request, _ in try await proxy.forward(request, method: .PUT) }
        router.get("/v1/keys/:user") { request, _ in try await proxy.forward(request, method: .GET) }
        router.get("/.well-known/parley") { request, _ in try await proxy.forward(request, method: .GET) }
        var logger = Logger(label: "parley.proxy")
        logger.logLevel = .warning
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)), logger: logger)
        let serviceGroup = ServiceGroup(services: [app], logger: logger)
        group.withLock { $0 = serviceGroup }
        Task { try? await serviceGroup.run() }
    }

    /// Graceful shutdown (Hummingbird must not be cancelled mid-accept).
    public func stop() async {
        if let serviceGroup = group.withLock({ $0 }) { await serviceGroup.triggerGracefulShutdown() }
    }

    func forward(_ request: Request, method: NIOHTTP1.HTTPMethod) async throws -> Response {
        let body = try await request.body.collect(upTo: 64 << 20)
        let bytes = Array(buffer: body)
        var outbound = HTTPClientRequest(url: target + request.uri.description)
        outbound.method = method
        for field in request.headers where field.name.canonicalName != "host" {
            outbound.headers.add(name: field.name.rawName, value: field.value)
        }
        if !bytes.isEmpty { outbound.body = .bytes(bytes) }
        let response = try await http.execute(outbound, timeout: .seconds(30))
        let answer = try await response.body.collect(upTo: 64 << 20)
        captured.withLock { $0.append(bytes); $0.append(Array(buffer: answer)) }
        var headers = HTTPFields()
        if let type = response.headers.first(name: "Content-Type") { headers[.contentType] = type }
        return Response(status: .init(code: Int(response.status.code)), headers: headers, body: .init(byteBuffer: answer))
    }
}
