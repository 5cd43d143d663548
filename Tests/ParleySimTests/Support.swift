import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import ParleySim
import ServiceLifecycle
import Synchronization
import Testing

/// One webhook POST the test receiver saw.
struct ReceivedWebhook: Sendable {
    var body: [UInt8]
    var signature: String?
    var json: JSONValue? { JSONValue.parse(body) }
}

/// A node stand-in: records webhook POSTs and answers them with scripted statuses (200 once the script is used up).
final class WebhookReceiver: Sendable {
    private let received = Mutex<[ReceivedWebhook]>([])
    private let script = Mutex<[Int]>([])
    private let alwaysFail = Mutex(false)
    private let portState = Mutex<Int?>(nil)
    let verifyToken = "verify-me"
    private let task = Mutex<Task<Void, any Error>?>(nil)
    private let serviceGroup = Mutex<ServiceGroup?>(nil)

    /// Answers the next POSTs with these statuses, in order.
    func answer(_ statuses: [Int]) { script.withLock { $0 = statuses } }
    func failAll(_ on: Bool) { alwaysFail.withLock { $0 = on } }
    var all: [ReceivedWebhook] { received.withLock { $0 } }

    func start(port: Int = 0) async throws -> String {
        let router = Router()
        router.post("/webhook") { request, _ -> Response in
            var req = request
            let body = try await req.collectBody(upTo: 16 << 20)
            self.received.withLock {
                $0.append(ReceivedWebhook(body: Array(body.readableBytesView), signature: request.headers.first { $0.name.rawName.lowercased() == "x-hub-signature-256" }?.value))
            }
            if self.alwaysFail.withLock({ $0 }) { return Response(status: .internalServerError) }
            let status = self.script.withLock { s -> Int in s.isEmpty ? 200 : s.removeFirst() }
            return Response(status: .init(code: status))
        }
        router.get("/webhook") { request, _ -> Response in
            let q = request.uri.queryParameters
            guard q.get("hub.mode") == "subscribe", q.get("hub.verify_token") == self.verifyToken, let c = q.get("hub.challenge") else {
                return Response(status: .forbidden)
            }
            return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: c)))
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)),
                              onServerRunning: { channel in self.portState.withLock { $0 = channel.localAddress?.port } },
                              logger: Logger(label: "test.receiver"))
        // Stopped by graceful shutdown: cancelling a Hummingbird server mid-accept trips a NIO precondition.
        let group = ServiceGroup(configuration: .init(services: [app], logger: Logger(label: "test.receiver")))
        serviceGroup.withLock { $0 = group }
        task.withLock { $0 = Task { try await group.run() } }
        let p = try await waitFor("receiver listening") { self.portState.withLock { $0 } }
        return "http://127.0.0.1:\(p)/webhook"
    }

    func stop() async {
        await serviceGroup.withLock { $0 }?.triggerGracefulShutdown()
        _ = await task.withLock { $0 }?.result
    }
}

struct TimedOut: Error, CustomStringConvertible {
    var what: String
    var description: String { "timed out waiting for \(what)" }
}

/// Polls `probe` until it yields a value; the generous bound only stops a broken test from hanging.
func waitFor<T>(_ what: String, timeout: Duration = .seconds(20), _ probe: () async throws -> T?) async throws -> T {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while clock.now < deadline {
        if let v = try await probe() { return v }
        try await Task.sleep(for: .milliseconds(10))
    }
    throw TimedOut(what: what)
}

let appSecret = "test-app-secret"
let accessToken = "test-access-token"

func tempDir() -> String {
    let d = FileManager.default.temporaryDirectory.appendingPathComponent("parleysim-\(UUID().uuidString)").path
    try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
    return d
}

func makeConfig(_ app: SimulatorApp, webhook: String, dir: String = tempDir(), maxBatch: Int = 50,
                window: Duration = .milliseconds(0), receiptDelay: Duration = .milliseconds(0)) -> SimulatorConfig {
    SimulatorConfig(app: app, dataDirectory: dir, webhookURL: webhook, appSecret: appSecret, verifyToken: "verify-me",
                    accessToken: accessToken, batchWindow: window, maxBatch: maxBatch,
                    retry: RetrySchedule(initial: .milliseconds(20), multiplier: 2, maximum: .milliseconds(200)),
                    deliveryReceiptDelay: receiptDelay)
}

/// A running simulator plus its client.
struct RunningSim {
    let sim: Simulator
    let client: SimulatorClient
    let task: Task<Void, any Error>

    static func start(_ config: SimulatorConfig) async throws -> RunningSim {
        let sim = try Simulator(config: config, logger: Logger(label: "test.sim"))
        let task = Task { try await sim.run() }
        let base = try await sim.baseURL()
        return RunningSim(sim: sim, client: SimulatorClient(baseURL: base), task: task)
    }

    func stop() async throws {
        task.cancel()
        try await task.value
    }
}

/// Runs `body` with a receiver and a simulator, stopping both afterwards.
func withSim(_ app: SimulatorApp, maxBatch: Int = 50, window: Duration = .milliseconds(0), receiptDelay: Duration = .milliseconds(0),
             _ body: (RunningSim, WebhookReceiver) async throws -> Void) async throws {
    let receiver = WebhookReceiver()
    let url = try await receiver.start()
    let dir = tempDir()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let running = try await RunningSim.start(makeConfig(app, webhook: url, dir: dir, maxBatch: maxBatch, window: window, receiptDelay: receiptDelay))
    do {
        try await body(running, receiver)
    } catch {
        try? await running.stop()
        await receiver.stop()
        throw error
    }
    try await running.stop()
    await receiver.stop()
}

/// Every update item the receiver got: WhatsApp `messages[]`/`statuses[]` entries, Messenger/IG `messaging[]` entries.
func items(_ received: [ReceivedWebhook], _ key: String) -> [JSONValue] {
    var out: [JSONValue] = []
    for r in received {
        for entry in r.json?["entry"]?.array ?? [] {
            if key == "messaging" { out += entry["messaging"]?.array ?? [] }
            for change in entry["changes"]?.array ?? [] { out += change["value"]?[key]?.array ?? [] }
        }
    }
    return out
}

/// Key paths with their JSON types, e.g. `entry[].changes[].value.messages[].timestamp:string`.
func shape(_ v: JSONValue, _ prefix: String = "") -> Set<String> {
    switch v {
    case .object(let members):
        var s: Set<String> = []
        for (k, m) in members { s.formUnion(shape(m, prefix.isEmpty ? k : prefix + "." + k)) }
        return s
    case .array(let items):
        var s: Set<String> = [prefix + "[]"]
        for i in items { s.formUnion(shape(i, prefix + "[]")) }
        return s
    case .string: return [prefix + ":string"]
    case .int, .double: return [prefix + ":number"]
    case .bool: return [prefix + ":bool"]
    case .null: return [prefix + ":null"]
    }
}

/// A shared native sample, from the repository's copy (`Fixtures/native/<app>/`, copied from shared/fixtures/native).
func fixture(_ name: String) throws -> JSONValue {
    let app = String(name.prefix { $0 != "_" })
    let path = URL(fileURLWithPath: #filePath)  // <repo>/Tests/ParleySimTests/Support.swift
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/native/\(app)/\(name)").path
    let bytes = try #require(FileManager.default.contents(atPath: path), "no fixture at \(path)")
    return try #require(JSONValue.parse(Array(bytes)), "fixture \(name) is not JSON")
}

/// Fixture key paths (minus documented-optional ones) the simulator's value lacks or types differently.
func missingShape(fixture name: String, in value: JSONValue, ignoring: [String] = []) throws -> [String] {
    let want = shape(try fixture(name))
    let have = shape(value)
    return want.filter { path in !have.contains(path) && !ignoring.contains { path.contains($0) } }.sorted()
}

#if canImport(Glibc)
import Glibc
#endif

/// Whether a TCP connection to 127.0.0.1:`port` is accepted. (AsyncHTTPClient keeps retrying refused connections
/// until its deadline, so it cannot tell "down" apart from "slow" quickly.)
func canConnect(_ port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = in_port_t(UInt16(port).bigEndian)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    let rc = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    return rc == 0
}
