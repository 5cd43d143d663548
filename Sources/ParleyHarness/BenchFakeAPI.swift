import Foundation
import Histogram
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// Monotonic nanoseconds, shared by the load generator and the fake APIs (same process).
@inline(__always)
func benchNow() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

/// What the benchmark sent and what arrived where, per phase: the send time of every sequence number, and a latency
/// histogram (microseconds, webhook POST start → arrival at the destination's fake API).
public final class BenchRecorder: Sendable {
    struct Sent {
        var at: UInt64
        var phase: Int
    }

    struct PhaseState {
        var histogram = Histogram<UInt64>(highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .three)
        var sentCount = 0
        var arrived = 0
        var firstSend: UInt64 = .max
        var lastArrival: UInt64 = 0
        var rejected = 0
    }

    struct State {
        var pending: [Int: Sent] = [:]
        var phases: [PhaseState]
        var duplicates = 0
        var unknown = 0
    }

    private let state: Mutex<State>

    public init(phases: Int) { state = Mutex(State(phases: Array(repeating: PhaseState(), count: phases))) }

    func sent(_ seqs: [Int], at: UInt64, phase: Int) {
        state.withLock { s in
            for seq in seqs { s.pending[seq] = Sent(at: at, phase: phase) }
            s.phases[phase].sentCount += seqs.count
            s.phases[phase].firstSend = min(s.phases[phase].firstSend, at)
        }
    }

    /// The webhook was refused: those messages will not arrive.
    func rejected(_ seqs: [Int], phase: Int) {
        state.withLock { s in
            for seq in seqs { s.pending[seq] = nil }
            s.phases[phase].rejected += seqs.count
        }
    }

    func arrived(_ seq: Int, at: UInt64) {
        state.withLock { s in
            guard let sent = s.pending.removeValue(forKey: seq) else {
                if seq >= 0 { s.duplicates += 1 } else { s.unknown += 1 }
                return
            }
            let micros = at > sent.at ? (at - sent.at) / 1000 : 0
            _ = s.phases[sent.phase].histogram.record(micros)
            s.phases[sent.phase].arrived += 1
            s.phases[sent.phase].lastArrival = max(s.phases[sent.phase].lastArrival, at)
        }
    }

    /// Messages sent in `phase` that have not arrived (nor been refused).
    func outstanding(phase: Int) -> Int {
        state.withLock { s in s.phases[phase].sentCount - s.phases[phase].arrived - s.phases[phase].rejected }
    }

    func snapshot(phase: Int) -> PhaseState { state.withLock { $0.phases[phase] } }
    var duplicates: Int { state.withLock { $0.duplicates } }
}

/// A fast stand-in for one app's Graph API: answers `POST /{account}/messages` like the real app and tells the
/// recorder when each benchmark message arrives. A benchmark text ends with `PB<8 digits>`, its sequence number; a
/// text longer than the app takes arrives as several messages in order, and only the last carries the number, so
/// the recorder hears of the message when all of it is there.
///
/// Plain SwiftNIO, answering on the event loop: the bench shares the machine with the nodes it measures, so its
/// stand-ins must cost far less per request than the node does (Hummingbird took ~2.5× the CPU per request here).
public final class FakeNativeAPI: Sendable {
    public let app: String
    public let port: Int
    let recorder: BenchRecorder
    private let counter = Atomic<Int>(0)
    private let channel = Mutex<(any Channel)?>(nil)

    /// `POST …/messages` requests answered so far.
    public var messagesReceived: Int { counter.load(ordering: .relaxed) }

    public init(app: String, port: Int, recorder: BenchRecorder) {
        self.app = app
        self.port = port
        self.recorder = recorder
    }

    public func start() async throws {
        let api = self
        let bound = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                do {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(FakeAPIHandler(api: api))
                    return channel.eventLoop.makeSucceededVoidFuture()
                } catch {
                    return channel.eventLoop.makeFailedFuture(error)
                }
            }
            .bind(host: "127.0.0.1", port: port).get()
        channel.withLock { $0 = bound }
    }

    public func stop() async {
        if let bound = channel.withLock({ $0 }) { try? await bound.close() }
    }

    /// The answer to one request: status and JSON body.
    func answer(method: HTTPMethod, uri: String, body: [UInt8]) -> (HTTPResponseStatus, String) {
        if method == .GET, uri == "/healthz" { return (.ok, "ok\n") }
        guard method == .POST, uri.hasSuffix("/messages") else { return (.notFound, #"{"error":{"message":"unknown path","code":803}}"#) }
        let now = benchNow()
        let seq = Self.sequenceNumber(in: body)
        if let seq { recorder.arrived(seq, at: now) }
        let n = counter.wrappingAdd(1, ordering: .relaxed).newValue
        if app == "whatsapp" {
            return (.ok, seq != nil || body.containsASCII("\"type\":\"text\"")
                ? #"{"messaging_product":"whatsapp","contacts":[{"input":"x","wa_id":"x"}],"messages":[{"id":"wamid.BENCH\#(n)"}]}"#
                : #"{"success":true}"#)
        }
        return (.ok, #"{"recipient_id":"x","message_id":"m_BENCH\#(n)"}"#)
    }

    /// The number after the last `PB` followed by eight digits. Searched from the end, where the text's number is
    /// (the text is the last field of each app's send body), so a 16 KiB body is not read through.
    static func sequenceNumber(in bytes: [UInt8]) -> Int? {
        let p = UInt8(ascii: "P"), b = UInt8(ascii: "B"), zero = UInt8(ascii: "0"), nine = UInt8(ascii: "9")
        guard bytes.count >= 10 else { return nil }
        var i = bytes.count - 10
        while i >= 0 {
            if bytes[i] == p, bytes[i + 1] == b {
                var value = 0, ok = true
                for j in 0..<8 {
                    let d = bytes[i + 2 + j]
                    guard d >= zero, d <= nine else { ok = false; break }
                    value = value * 10 + Int(d - zero)
                }
                if ok { return value }
            }
            i -= 1
        }
        return nil
    }
}

/// One connection of a ``FakeNativeAPI``: collects a request, answers it at once.
private final class FakeAPIHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let api: FakeNativeAPI
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []

    init(api: FakeNativeAPI) { self.api = api }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            body.removeAll(keepingCapacity: true)
        case .body(let part):
            body.append(contentsOf: part.readableBytesView)
        case .end:
            guard let head else { return }
            let (status, json) = api.answer(method: head.method, uri: head.uri, body: body)
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: "application/json")
            headers.add(name: "Content-Length", value: String(json.utf8.count))
            if !head.isKeepAlive { headers.add(name: "Connection", value: "close") }
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: json)))), promise: nil)
            let keepAlive = head.isKeepAlive
            context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
                if !keepAlive { context.close(promise: nil) }
            }
        }
    }
}

extension Array where Element == UInt8 {
    func containsASCII(_ needle: String) -> Bool {
        let n = Array(needle.utf8)
        guard !n.isEmpty, n.count <= count else { return false }
        for start in 0...(count - n.count) where self[start] == n[0] {
            if Array(self[start..<start + n.count]) == n { return true }
        }
        return false
    }
}
