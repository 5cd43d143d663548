import CSodium
import Foundation
import GRDB
import ParleyCrypto

/// The floor under one relayed message, measured in the same run on the same machine: the AEAD over the same bytes,
/// an Ed25519 sign+verify (a federation request signature), and a durable SQLite WAL insert of a row of the same size
/// with the same commit batching.
public struct BenchRawCosts: Sendable {
    /// XChaCha20-Poly1305 (libsodium, IETF) encrypt of `size` bytes, per message.
    public var aeadMicros: Double
    /// Ed25519 sign + verify of a 64-byte canonical request, per operation.
    public var signVerifyMicros: Double
    /// Durable insert per message (GRDB DatabasePool, WAL, synchronous FULL, `batch` rows per commit).
    public var insertMicros: Double
    public var rowBytes: Int
    public var batch: Int

    /// 1 / (aead + insert) per message.
    public var limitMessagesPerSecond: Double { 1_000_000 / max(aeadMicros + insertMicros, 0.001) }

    /// Measures all three, each for roughly `budget`.
    public static func measure(size: Int, rowBytes: Int, batch: Int, directory: String, budget: Duration = .seconds(1)) throws -> BenchRawCosts {
        let budgetNanos = UInt64(budget.components.seconds) * 1_000_000_000 + UInt64(budget.components.attoseconds / 1_000_000_000)
        _ = sodium_init()

        // AEAD.
        let message = [UInt8](repeating: 0x78, count: size)
        var key = [UInt8](repeating: 0, count: Int(crypto_aead_xchacha20poly1305_ietf_KEYBYTES))
        var nonce = [UInt8](repeating: 0, count: Int(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES))
        randombytes_buf(&key, key.count)
        var cipher = [UInt8](repeating: 0, count: size + Int(crypto_aead_xchacha20poly1305_ietf_ABYTES))
        let ad = [UInt8](repeating: 0x61, count: 32)
        var aeadCount = 0
        var started = benchNow()
        while benchNow() - started < budgetNanos / 2 || aeadCount < 100 {
            randombytes_buf(&nonce, nonce.count)
            var cipherLength: UInt64 = 0
            _ = crypto_aead_xchacha20poly1305_ietf_encrypt(
                &cipher, &cipherLength, message, UInt64(message.count), ad, UInt64(ad.count), nil, nonce, key)
            aeadCount += 1
        }
        let aead = Double(benchNow() - started) / 1000 / Double(aeadCount)

        // Ed25519 sign + verify.
        let signer = NodeSigningKey.generate()
        let canonical = [UInt8](repeating: 0x42, count: 64)
        var signCount = 0
        started = benchNow()
        while benchNow() - started < budgetNanos / 2 || signCount < 50 {
            let signature = signer.sign(canonical)
            guard signer.publicKey.verify(signature: signature, message: canonical) else {
                throw HarnessError("bench.raw", "Ed25519 verify failed on a fresh signature")
            }
            signCount += 1
        }
        let signVerify = Double(benchNow() - started) / 1000 / Double(signCount)

        // SQLite WAL insert, synchronous FULL, `batch` rows per commit.
        let path = "\(directory)/raw-insert.sqlite"
        try? FileManager.default.removeItem(atPath: path)
        let pool = try DatabasePool(path: path)
        try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        try pool.write { db in
            try db.execute(sql: "CREATE TABLE inbox (id INTEGER PRIMARY KEY, conversation TEXT NOT NULL, envelope_id BLOB NOT NULL UNIQUE, sealed BLOB NOT NULL)")
        }
        let row = Data(repeating: 0x5A, count: rowBytes)
        var rows = 0, commits = 0
        started = benchNow()
        while benchNow() - started < budgetNanos || commits < 20 {
            let first = rows
            try pool.write { db in
                for i in 0..<batch {
                    var id = Data(count: 16)
                    id.withUnsafeMutableBytes { randombytes_buf($0.baseAddress!, 16) }
                    try db.execute(sql: "INSERT INTO inbox (conversation, envelope_id, sealed) VALUES (?, ?, ?)",
                                   arguments: ["conversation-\((first + i) % 64)", id, row])
                }
            }
            rows += batch
            commits += 1
        }
        let insert = Double(benchNow() - started) / 1000 / Double(rows)
        try pool.close()
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        return BenchRawCosts(aeadMicros: aead, signVerifyMicros: signVerify, insertMicros: insert, rowBytes: rowBytes, batch: batch)
    }
}
