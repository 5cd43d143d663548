// MIMI content codec: decode and encode of the draft's own examples, and message-id derivation.
// Inputs are read and decoded once, outside the measured loops; each iteration does 1,000 operations.
import Benchmark
import Foundation
import ParleyCore

/// `/work/shared` (or `$PARLEY_SHARED`): the checkout's sibling `shared/` directory, found from this file.
private func sharedDirectory() -> URL {
    if let override = ProcessInfo.processInfo.environment["PARLEY_SHARED"], !override.isEmpty {
        return URL(fileURLWithPath: override)
    }
    // <repo>/Benchmarks/Benchmarks/MIMIBenchmarks/MIMIBenchmarks.swift → <repo>/../shared
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<5 { url.deleteLastPathComponent() }
    return url.appendingPathComponent("shared")
}

private struct Vector {
    var name: String
    var bytes: [UInt8]
    var content: MIMIContent
}

/// The draft vectors, or a readable reason why they could not be loaded (reported as a benchmark error).
private func loadVectors() -> Result<[Vector], BenchmarkSetupError> {
    let directory = sharedDirectory().appendingPathComponent("vectors/mimi-content")
    var vectors: [Vector] = []
    for name in ["original", "reply", "reaction", "edit", "delete", "attachment"] {
        let file = directory.appendingPathComponent("\(name).cbor")
        guard let data = FileManager.default.contents(atPath: file.path) else {
            return .failure(BenchmarkSetupError("cannot read \(file.path); set PARLEY_SHARED to the shared/ directory"))
        }
        let bytes = [UInt8](data)
        do {
            vectors.append(Vector(name: name, bytes: bytes, content: try MIMIContent(decoding: bytes)))
        } catch {
            return .failure(BenchmarkSetupError("\(file.path) does not decode: \(error)"))
        }
    }
    return .success(vectors)
}

struct BenchmarkSetupError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
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

    let vectors: [Vector]
    switch loadVectors() {
    case .success(let loaded):
        vectors = loaded
    case .failure(let error):
        Benchmark("MIMI vectors unavailable") { benchmark in benchmark.error(error.description) }
        return
    }

    for vector in vectors {
        let bytes = vector.bytes
        Benchmark("MIMI decode \(vector.name) (\(bytes.count) B)") { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(try? MIMIContent(decoding: bytes))
            }
        }
    }

    for vector in vectors {
        let content = vector.content
        Benchmark("MIMI encode \(vector.name) (\(vector.bytes.count) B)") { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(content.encoded())
            }
        }
    }

    // What a receiver does per message: decode the received bytes and hash them into the id.
    for vector in vectors where ["original", "attachment"].contains(vector.name) {
        let bytes = vector.bytes
        Benchmark("MIMI decode+messageId \(vector.name)") { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(try? MIMIContent.messageId(of: bytes))
            }
        }
    }

    // The hash alone (SHA-256 over URIs, content and salt), content already decoded.
    if let original = vectors.first(where: { $0.name == "original" }),
       let sender = original.content.extensions.senderUri, let room = original.content.extensions.roomUri {
        let bytes = original.bytes, salt = original.content.salt
        Benchmark("MIMI messageId derive original") { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(try? MessageId.derive(content: bytes, senderUri: sender, roomUri: room, salt: salt))
            }
        }
    }
}
