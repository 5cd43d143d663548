import Foundation
@testable import ParleyStore

/// A private temporary directory, removed when the value goes away.
final class TempDir: @unchecked Sendable {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("parley-store-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    func path(_ name: String = "node.sqlite") -> String { url.appendingPathComponent(name).path }
}

/// A 16-byte envelope id whose bytes encode `n`.
func envelopeId(_ n: Int, tag: UInt8 = 0xE0) -> Data {
    var data = Data([tag] + Array(repeating: 0, count: 7))
    withUnsafeBytes(of: UInt64(n).bigEndian) { data.append(contentsOf: $0) }
    return data
}

/// A 32-byte canonical id whose bytes encode `n`.
func canonicalId(_ n: Int) -> Data {
    var data = Data(repeating: 0xC1, count: 24)
    withUnsafeBytes(of: UInt64(n).bigEndian) { data.append(contentsOf: $0) }
    return data
}

func sealed(_ n: Int) -> Data { Data("sealed-\(n)".utf8) }

func envelope(
    _ n: Int, peer: String = "b.example", conversation: String = "c1", createdAt: Int64 = 1_000,
    expiresAt: Int64 = 1_000_000, canonical: Bool = true, sealed bytes: Data? = nil
) -> OutboundEnvelope {
    OutboundEnvelope(
        envelopeId: envelopeId(n), peer: peer, conversation: conversation, sealed: bytes ?? sealed(n),
        canonicalId: canonical ? canonicalId(n) : nil, createdAt: createdAt, expiresAt: expiresAt)
}

func event(
    _ key: String, tenant: String = "a.example", envelopes: [OutboundEnvelope], mappings: [IdMapping] = [],
    at time: Int64 = 1_000
) -> IngressEvent {
    IngressEvent(tenant: tenant, app: "whatsapp", nativeEventKey: key, receivedAt: time, envelopes: envelopes,
                 idMappings: mappings)
}

/// Queues `envelopes` for tenant `a.example`, one event each, keyed by their number.
func queue(_ store: ParleyStore, _ envelopes: [(Int, String)], peer: String = "b.example", tenant: String = "a.example") async throws {
    for (n, conversation) in envelopes {
        _ = try await store.ingest(event("evt-\(n)", tenant: tenant, envelopes: [envelope(n, peer: peer, conversation: conversation)]))
    }
}

extension Array where Element == OutboxItem {
    var numbers: [Int] { map { Int($0.envelopeId.suffix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }) } }
}

extension Array where Element == InboxItem {
    var numbers: [Int] { map { Int($0.key.envelopeId.suffix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }) } }
}
