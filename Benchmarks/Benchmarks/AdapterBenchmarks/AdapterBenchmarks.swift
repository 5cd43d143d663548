// Each adapter's pure codec: decode of its text-message webhook fixture, and encode of an outbound text
// message; and the host's split of a text too long for the destination. The adapters are linked as the parent package's dynamic library products and called directly
// (not through the C ABI), so this measures the codec only.
import Benchmark
import Foundation
import InstagramAdapter
import MessengerAdapter
import ParleyKit
import WhatsAppAdapter

/// `/work/shared` (or `$PARLEY_SHARED`): the checkout's sibling `shared/` directory, found from this file.
private func sharedDirectory() -> URL {
    if let override = ProcessInfo.processInfo.environment["PARLEY_SHARED"], !override.isEmpty {
        return URL(fileURLWithPath: override)
    }
    // <repo>/Benchmarks/Benchmarks/AdapterBenchmarks/AdapterBenchmarks.swift → <repo>/../shared
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<5 { url.deleteLastPathComponent() }
    return url.appendingPathComponent("shared")
}

private struct Case {
    var adapter: any Adapter
    var fixture: String
}

private struct Prepared {
    var payload: [UInt8]
    var outbound: BridgeEvent
}

/// Reads the fixture, checks it decodes to a text message, and derives the outbound text event from it
/// (same conversation and business account, so the encoder has what it needs).
private func prepare(_ c: Case) -> Result<Prepared, AdapterError> {
    let path = sharedDirectory().appendingPathComponent("fixtures/native/\(c.fixture)").path
    guard let data = FileManager.default.contents(atPath: path) else {
        return .failure(AdapterError(.internalFailure, "cannot read \(path); set PARLEY_SHARED to the shared/ directory"))
    }
    let payload = [UInt8](data)
    do {
        let events = try c.adapter.decode(payload)
        guard let inbound = events.first(where: { $0.kind == .message && $0.text != nil }) else {
            return .failure(AdapterError(.internalFailure, "\(c.fixture) decoded to no text message"))
        }
        let outbound = BridgeEvent(
            kind: .message, nativeId: "", conversation: inbound.conversation, sender: inbound.recipient ?? "",
            recipient: inbound.recipient, timestamp: inbound.timestamp,
            text: "Bridged from another app: see you at 10? \u{1F44B}")
        _ = try c.adapter.encode(outbound)
        return .success(Prepared(payload: payload, outbound: outbound))
    } catch {
        return .failure(error)
    }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.throughput, .wallClock, .mallocCountTotal],  // CPU time ticks at 10 ms here: useless per iteration
        timeUnits: .nanoseconds,
        warmupIterations: 3,
        scalingFactor: .kilo,
        maxDuration: .seconds(1),
        maxIterations: 1_000
    )

    let cases = [
        Case(adapter: WhatsAppAdapter(), fixture: "whatsapp_text.json"),
        Case(adapter: MessengerAdapter(), fixture: "messenger_text_full_envelope.json"),
        Case(adapter: InstagramAdapter(), fixture: "instagram_text.json"),
    ]
    for c in cases {
        let adapter = c.adapter
        switch prepare(c) {
        case .failure(let error):
            Benchmark("Adapter \(adapter.name) setup failed") { benchmark in benchmark.error("\(error)") }
        case .success(let prepared):
            let payload = prepared.payload, outbound = prepared.outbound
            Benchmark("Adapter \(adapter.name) decode text webhook (\(payload.count) B)") { benchmark in
                for _ in benchmark.scaledIterations {
                    blackHole(try? adapter.decode(payload))
                }
            }
            Benchmark("Adapter \(adapter.name) encode text message") { benchmark in
                for _ in benchmark.scaledIterations {
                    blackHole(try? adapter.encode(outbound))
                }
            }
        }
    }

    // A text over the destination's limit is split by the host before the adapter sees it (16 KiB → 9 Messenger
    // messages): ASCII words, and the same length with accents and emoji (grapheme by grapheme).
    let ascii = String(String(repeating: "xxxxxxxxx ", count: 1_640).prefix(16_384))
    let mixed = String(String(repeating: "été 👋🏽 x ", count: 2_000).prefix(ascii.count))
    for (name, text) in [("ASCII", ascii), ("accents and emoji", mixed)] {
        Benchmark("Fallbacks split 16 KiB \(name) text at 2,000 characters") { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(Fallbacks.split(text, limit: 2_000, unit: .characters))
            }
        }
    }
}
