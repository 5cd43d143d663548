import Foundation
import ParleyCore
import ParleyKit

/// The adapter conformance suite. It only uses the ``Adapter`` protocol, so it checks an in-process adapter, a
/// dlopen'ed ``LoadedAdapter`` and a ``ChildProcessAdapter`` the same way.
public enum AdapterConformance {
    public struct Options: Sendable, Hashable {
        /// Random byte strings fed to `decode` and `decodeSendResponse`.
        public var randomInputs: Int
        /// Single-bit corruptions per fixture.
        public var bitFlipsPerFixture: Int
        /// Prefixes per fixture.
        public var truncationsPerFixture: Int
        /// A call slower than this counts as a hang.
        public var slowCallLimit: Duration
        /// Seed of the input generator, so a failing run can be repeated exactly.
        public var seed: UInt64

        public init(randomInputs: Int = 64, bitFlipsPerFixture: Int = 24, truncationsPerFixture: Int = 12,
                    slowCallLimit: Duration = .seconds(2), seed: UInt64 = 0x5EED_0F_9A41E7)
        {
            self.randomInputs = randomInputs
            self.bitFlipsPerFixture = bitFlipsPerFixture
            self.truncationsPerFixture = truncationsPerFixture
            self.slowCallLimit = slowCallLimit
            self.seed = seed
        }
    }

    /// Runs every check and reports; it never throws and never stops at the first failure.
    public static func run(_ adapter: some Adapter, fixtures: [Fixture], options: Options = .init()) -> ConformanceReport {
        var suite = Suite(adapter: adapter, fixtures: fixtures, options: options)
        return suite.run()
    }
}

private struct Suite<A: Adapter> {
    let adapter: A
    let fixtures: [Fixture]
    let options: AdapterConformance.Options
    let caps: AdapterCapabilities
    /// Events each fixture decoded to (nil when it failed).
    var decoded: [String: [BridgeEvent]] = [:]

    init(adapter: A, fixtures: [Fixture], options: AdapterConformance.Options) {
        self.adapter = adapter
        self.fixtures = fixtures
        self.options = options
        self.caps = adapter.capabilities
    }

    var allDecodedEvents: [BridgeEvent] {
        fixtures.flatMap { decoded[$0.name] ?? [] }
    }

    var outboundEvents: [BridgeEvent] {
        allDecodedEvents.filter { caps.outboundKinds.contains($0.kind) }.map(Self.sendable)
    }

    /// An event decoded from a send body names no sending account (it is in the request path): give it one.
    static func sendable(_ event: BridgeEvent) -> BridgeEvent {
        guard event.isOutboundRequest, event.recipient == nil else { return event }
        var event = event
        event.recipient = "conformance-account"
        return event
    }

    mutating func run() -> ConformanceReport {
        let checks = [
            fixtureDecode(), fixtureEncode(), sendBodyRoundTrip(), inboundHonesty(), outboundHonesty(), robustness(), determinism(),
            idStability(),
        ]
        return ConformanceReport(adapterName: adapter.name, checks: checks)
    }

    // MARK: Checks

    mutating func fixtureDecode() -> ConformanceReport.Check {
        var failures: [String] = []
        for fixture in fixtures {
            do {
                let events = try adapter.decode(fixture.payload)
                decoded[fixture.name] = events
                let kinds = events.map(\.kind)
                if kinds != fixture.expectedKinds {
                    failures.append("\(fixture.name) decoded to \(kinds.map(\.rawValue)), expected \(fixture.expectedKinds.map(\.rawValue))")
                }
                for e in events where e.timestamp < 0 {
                    failures.append("\(fixture.name): \(e.kind.rawValue) \(e.nativeId) has a negative timestamp")
                }
            } catch {
                failures.append("\(fixture.name) did not decode: \(error)")
            }
        }
        return .init(name: "fixtures.decode", summary: "\(fixtures.count) native fixtures decode to their expected kinds",
                     failures: failures, notes: fixtures.isEmpty ? ["no fixtures given"] : [])
    }

    func fixtureEncode() -> ConformanceReport.Check {
        var failures: [String] = []
        for event in outboundEvents {
            failures += encodeProblems(event, label: "\(event.kind.rawValue) \(event.nativeId)")
        }
        return .init(name: "fixtures.encode",
                     summary: "\(outboundEvents.count) decoded outbound-capable events encode to requests with JSON bodies",
                     failures: failures, notes: [])
    }

    func encodeProblems(_ event: BridgeEvent, label: String) -> [String] {
        do {
            let requests = try adapter.encode(event)
            var problems: [String] = []
            for (i, r) in requests.enumerated() {
                if r.method.isEmpty || !r.path.hasPrefix("/") {
                    problems.append("\(label): request \(i) has method \"\(r.method)\" and path \"\(r.path)\" (a path starts with /)")
                }
                if r.contentType.lowercased().contains("json") {
                    if (try? JSONSerialization.jsonObject(with: Data(r.body), options: [.fragmentsAllowed])) == nil {
                        problems.append("\(label): request \(i) body is not valid JSON: \(String(decoding: r.body.prefix(120), as: UTF8.self))")
                    }
                }
            }
            return problems
        } catch {
            return ["\(label) was refused by encode: \(error)"]
        }
    }

    /// Fixtures that are native *send* bodies decode to outbound events; encoding those events must give back a
    /// body with every field of the fixture (the adapter may add its own, such as a bridge tag).
    func sendBodyRoundTrip() -> ConformanceReport.Check {
        var failures: [String] = []
        var checked = 0
        for fixture in fixtures {
            guard let events = decoded[fixture.name], !events.isEmpty, events.allSatisfy(\.isOutboundRequest),
                  let original = try? JSONValue.parse(fixture.payload) else { continue }
            checked += 1
            let bodies: [JSONValue]
            do {
                bodies = try events.flatMap { event throws(AdapterError) in try adapter.encode(Self.sendable(event)) }
                    .compactMap { try? JSONValue.parse($0.body) }
            } catch {
                failures.append("\(fixture.name): its decoded event was refused by encode: \(error)")
                continue
            }
            if !bodies.contains(where: { $0.covers(original) }) {
                let produced = bodies.map { String(decoding: $0.serialized, as: UTF8.self) }
                failures.append("\(fixture.name) re-encodes to \(produced), which lacks some of its fields")
            }
        }
        return .init(name: "fixtures.send_roundtrip",
                     summary: "\(checked) send-body fixtures survive decode → encode with every field",
                     failures: failures, notes: checked == 0 ? ["no send-body fixtures given"] : [])
    }

    func inboundHonesty() -> ConformanceReport.Check {
        guard !fixtures.isEmpty else {
            return .init(name: "capabilities.inbound", summary: "declared inbound kinds are produced by fixtures",
                         failures: [], notes: ["skipped: no fixtures given"])
        }
        let produced = Set(allDecodedEvents.map(\.kind))
        var failures: [String] = []
        for kind in caps.inboundKinds.subtracting(produced).sorted(by: { $0.rawValue < $1.rawValue }) {
            failures.append("\(kind.rawValue) is declared inbound but no fixture produces it (add a fixture or drop the claim)")
        }
        for kind in produced.subtracting(caps.inboundKinds).sorted(by: { $0.rawValue < $1.rawValue }) where kind != .unsupported {
            failures.append("\(kind.rawValue) is produced by a fixture but not declared inbound")
        }
        return .init(name: "capabilities.inbound", summary: "declared inbound kinds and decoded kinds agree",
                     failures: failures, notes: [])
    }

    func outboundHonesty() -> ConformanceReport.Check {
        var failures: [String] = []
        var notes: [String] = []
        for kind in caps.outboundKinds.sorted(by: { $0.rawValue < $1.rawValue }) {
            let fromFixture = outboundEvents.first { $0.kind == kind }
            let event = fromFixture ?? sample(kind)
            if fromFixture == nil { notes.append("\(kind.rawValue): no fixture event, used a synthesized one") }
            failures += encodeProblems(event, label: "declared outbound \(kind.rawValue)")
        }
        if caps.maxTextLength <= 0 { failures.append("maxTextLength must be positive, is \(caps.maxTextLength)") }
        return .init(name: "capabilities.outbound", summary: "every declared outbound kind is accepted by encode",
                     failures: failures, notes: notes)
    }

    /// A plausible event of `kind`, based on the first decoded event so adapter-specific ids look real.
    func sample(_ kind: BridgeEvent.Kind) -> BridgeEvent {
        let base = allDecodedEvents.first
        var e = BridgeEvent(kind: kind, nativeId: "conformance-1", conversation: base?.conversation ?? "conversation-1",
                            sender: base?.recipient ?? base?.sender ?? "sender-1", recipient: base?.recipient,
                            timestamp: 1_700_000_000_000)
        let target = allDecodedEvents.first { $0.kind == .message }?.nativeId ?? "message-1"
        switch kind {
        case .message, .echo, .unsupported: e.text = "conformance check"
        case .reaction: e.target = target; e.emoji = "👍"
        case .edit: e.target = target; e.text = "conformance check, edited"
        case .delete: e.target = target
        case .receipt:
            e.target = target
            e.status = caps.receipts.sorted(by: { $0.rawValue < $1.rawValue }).first ?? .read
        case .typing: break
        }
        return e
    }

    func robustness() -> ConformanceReport.Check {
        var rng = SplitMix64(seed: options.seed)
        var failures: [String] = []
        var calls = 0
        func timed<R>(_ label: String, _ body: () throws(AdapterError) -> R) -> Result<R, AdapterError> {
            calls += 1
            let clock = ContinuousClock()
            let start = clock.now
            let result: Result<R, AdapterError>
            do { result = .success(try body()) } catch { result = .failure(error) }
            let took = clock.now - start
            if took > options.slowCallLimit { failures.append("\(label) took \(took): a hang or pathological slowness") }
            if case .failure(let e) = result, e.code == .internalFailure {
                failures.append("\(label) failed inside the adapter: \(e.message)")
            }
            return result
        }
        if case .success(let events) = timed("empty input", { () throws(AdapterError) in try adapter.decode([]) }) {
            failures.append("empty input decoded to \(events.count) event(s) instead of an AdapterError")
        }
        for fixture in fixtures where fixture.payload.count > 1 {
            let n = fixture.payload.count
            let cuts = Set((0..<options.truncationsPerFixture).map { i in 1 + (n - 2) * i / max(1, options.truncationsPerFixture - 1) })
            for cut in cuts.sorted() where cut < n {
                let prefix = Array(fixture.payload[..<cut])
                // Trailing whitespace can be cut without changing the document; only real truncations must fail.
                if fixture.payload[cut...].allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) { continue }
                if case .success(let events) = timed("\(fixture.name) truncated to \(cut) bytes", { () throws(AdapterError) in try adapter.decode(prefix) }) {
                    failures.append("\(fixture.name) truncated to \(cut) of \(n) bytes decoded to \(events.count) event(s) instead of an AdapterError")
                }
            }
            for _ in 0..<options.bitFlipsPerFixture {
                var flipped = fixture.payload
                let bit = Int(rng.next() % UInt64(n * 8))
                flipped[bit / 8] ^= UInt8(1 << (bit % 8))
                // A flipped bit may still be a valid payload; what matters is an answer, not a crash or hang.
                _ = timed("\(fixture.name) with bit \(bit) flipped", { () throws(AdapterError) in try adapter.decode(flipped) })
            }
        }
        for i in 0..<options.randomInputs {
            let length = 16 + Int(rng.next() % 512)
            let bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            if case .success(let events) = timed("random input #\(i)", { () throws(AdapterError) in try adapter.decode(bytes) }) {
                failures.append("random input #\(i) (\(length) bytes, seed \(options.seed)) decoded to \(events.count) event(s)")
            }
            let status = [200, 201, 400, 404, 429, 500, 503][i % 7]
            _ = timed("send response #\(i) (HTTP \(status))", { () throws(AdapterError) in try adapter.decodeSendResponse(status: status, body: bytes) })
        }
        return .init(name: "robustness",
                     summary: "truncated, bit-flipped and random inputs give an answer or an AdapterError, fast",
                     failures: failures, notes: ["\(calls) calls, seed \(options.seed)"])
    }

    func determinism() -> ConformanceReport.Check {
        var failures: [String] = []
        if adapter.capabilities != caps { failures.append("capabilities differ between two reads") }
        for fixture in fixtures {
            let first = try? adapter.decode(fixture.payload)
            let second = try? adapter.decode(fixture.payload)
            if first != second { failures.append("\(fixture.name) decodes differently on a second call") }
        }
        for event in outboundEvents {
            let first = try? adapter.encode(event)
            let second = try? adapter.encode(event)
            if first != second { failures.append("\(event.kind.rawValue) \(event.nativeId) encodes differently on a second call") }
        }
        let body = Array(#"{"id":"x"}"#.utf8)
        for status in [200, 400, 500] {
            let first = try? adapter.decodeSendResponse(status: status, body: body)
            let second = try? adapter.decodeSendResponse(status: status, body: body)
            if first != second { failures.append("the HTTP \(status) send response decodes differently on a second call") }
        }
        return .init(name: "determinism", summary: "the same input gives the same output twice", failures: failures, notes: [])
    }

    func idStability() -> ConformanceReport.Check {
        var failures: [String] = []
        var checked = 0
        for event in outboundEvents {
            guard let requests = try? adapter.encode(event) else { continue }
            let haystack = requests.map { $0.path + "\n" + String(decoding: $0.body, as: UTF8.self) }.joined(separator: "\n")
            // A receipt that names its message needs no user id: message ids are unique per thread (WhatsApp's real
            // mark-read body is `{"messaging_product","status","message_id"}`).
            let namesItsMessage = event.kind == .receipt && event.target?.isEmpty == false
            var ids = namesItsMessage ? [] : [("conversation", event.conversation)]
            if let target = event.target, !target.isEmpty { ids.append(("target", target)) }
            for (field, id) in ids where !id.isEmpty {
                checked += 1
                let escaped = id.replacingOccurrences(of: "/", with: "\\/")
                let percent = id.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? id
                if !haystack.contains(id) && !haystack.contains(escaped) && !haystack.contains(percent) {
                    failures.append("\(event.kind.rawValue) \(event.nativeId): its \(field) id \"\(id)\" is not in the encoded request")
                }
            }
        }
        return .init(name: "ids.stable", summary: "native ids survive decode → encode (\(checked) ids checked)",
                     failures: failures, notes: [])
    }
}

extension JSONValue {
    /// Whether this document has every member of `expected`, recursively (objects may have more members).
    func covers(_ expected: JSONValue) -> Bool {
        switch (self, expected) {
        case let (.object(p), .object(e)):
            return e.allSatisfy { key, value in p[key]?.covers(value) ?? false }
        case let (.array(p), .array(e)):
            return p.count == e.count && zip(p, e).allSatisfy { $0.covers($1) }
        default:
            return self == expected
        }
    }
}
