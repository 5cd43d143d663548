import Hummingbird
import NIOCore
import NIOHTTPTypes
import Synchronization

/// Fault switches for the simulator's own HTTP server. They apply to the native API only, never to `/sim/`.
final class FaultSwitches: Sendable {
    private let active = Mutex<[String: SimFault]>([:])

    static let modes = ["error500", "rateLimit", "slow", "drop", "down", "reorderWebhooks"]

    func set(_ fault: SimFault) { active.withLock { $0[fault.mode] = fault } }
    func clear() { active.withLock { $0.removeAll() } }
    func list() -> [SimFault] { active.withLock { Array($0.values).sorted { $0.mode < $1.mode } } }

    /// The armed fault of `mode`, without consuming a use.
    func peek(_ mode: String) -> SimFault? { active.withLock { $0[mode] } }

    /// Consumes one use of `mode` if it is armed.
    func take(_ mode: String) -> SimFault? {
        active.withLock { faults in
            guard var f = faults[mode] else { return nil }
            if let c = f.count {
                if c <= 1 { faults[mode] = nil } else { f.count = c - 1; faults[mode] = f }
            }
            return f
        }
    }

    static func applies(to path: String) -> Bool { !path.hasPrefix("/sim/") && path != "/sim" }
}

/// Answers 500 / 429 / slowly when those faults are armed.
struct FaultMiddleware<Context: RequestContext>: RouterMiddleware {
    let faults: FaultSwitches
    let app: SimulatorApp

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard FaultSwitches.applies(to: request.uri.path) else { return try await next(request, context) }
        if let slow = faults.take("slow") { try await Task.sleep(for: .milliseconds(slow.delayMs ?? 1000)) }
        if let rl = faults.take("rateLimit") {
            let e = GraphError.rateLimited(app: app, retryAfter: rl.retryAfterSeconds ?? 1)
            return SimHTTP.json(e.body, status: 429, headers: [.retryAfter: String(rl.retryAfterSeconds ?? 1)])
        }
        if faults.take("error500") != nil {
            let e = GraphError.serverError()
            return SimHTTP.json(e.body, status: 500)
        }
        return try await next(request, context)
    }
}

/// Closes the connection without answering when the `drop` fault is armed (sits right after HTTP decoding).
final class DropConnectionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart

    let faults: FaultSwitches
    private var dropping = false

    init(faults: FaultSwitches) { self.faults = faults }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if case .head(let head) = part, FaultSwitches.applies(to: head.path ?? "/"), faults.take("drop") != nil {
            dropping = true
            context.close(promise: nil)
            return
        }
        if dropping { return }
        context.fireChannelRead(data)
    }
}
