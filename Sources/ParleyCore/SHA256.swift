import CParleySHA256

/// SHA-256 (FIPS 180-4) for MIMI message ids, and for the package's other modules (federation request digests,
/// webhook signatures on both sides: the node's check and the simulators'). The compression runs in `CParleySHA256`, which uses the CPU's SHA extensions
/// where it has them: every message's id hashes its whole content.
package struct SHA256 {
    private var state: [UInt32] = [
        0x6a09_e667, 0xbb67_ae85, 0x3c6e_f372, 0xa54f_f53a, 0x510e_527f, 0x9b05_688c, 0x1f83_d9ab, 0x5be0_cd19,
    ]
    private var buffer: [UInt8] = []
    private var length: UInt64 = 0

    init() {
        buffer.reserveCapacity(64)
    }

    mutating func update(_ data: [UInt8]) {
        data.withUnsafeBufferPointer { update($0) }
    }

    mutating func update(_ data: UnsafeBufferPointer<UInt8>) {
        length &+= UInt64(data.count)
        var index = 0
        if !buffer.isEmpty {
            let n = min(64 - buffer.count, data.count)
            buffer.append(contentsOf: data[0..<n])
            index = n
            if buffer.count == 64 {
                compress(buffer)
                buffer.removeAll(keepingCapacity: true)
            }
        }
        let whole = (data.count - index) / 64
        if whole > 0, let base = data.baseAddress {
            state.withUnsafeMutableBufferPointer { parley_sha256_blocks($0.baseAddress, base + index, whole) }
            index += whole * 64
        }
        if index < data.count { buffer.append(contentsOf: data[index...]) }
    }

    mutating func finalize() -> [UInt8] {
        let bitLength = length &* 8
        var padding: [UInt8] = [0x80]
        let afterOne = (buffer.count + 1) % 64
        padding.append(contentsOf: repeatElement(0, count: afterOne <= 56 ? 56 - afterOne : 120 - afterOne))
        for i in (0..<8).reversed() { padding.append(UInt8(truncatingIfNeeded: bitLength >> UInt64(i * 8))) }
        update(padding)
        return state.flatMap { word in (0..<4).map { UInt8(truncatingIfNeeded: word >> (24 - 8 * $0)) } }
    }

    private mutating func compress(_ block: [UInt8]) {
        block.withUnsafeBufferPointer { block in
            state.withUnsafeMutableBufferPointer { parley_sha256_blocks($0.baseAddress, block.baseAddress, 1) }
        }
    }

    /// HMAC-SHA256 (RFC 2104) of `message` under `key` of any length (a key longer than the 64-byte block is
    /// hashed first). Every webhook's signature is one of these over its whole body.
    package static func hmac(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var block = key.count > 64 ? hash(key) : key
        block += repeatElement(0, count: 64 - block.count)
        var inner = SHA256()
        inner.update(block.map { $0 ^ 0x36 })
        inner.update(message)
        var outer = SHA256()
        outer.update(block.map { $0 ^ 0x5c })
        outer.update(inner.finalize())
        return outer.finalize()
    }

    /// The digest of `data` in one call.
    package static func hash(_ data: [UInt8]) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: 32) { digest, count in
            data.withUnsafeBufferPointer { parley_sha256($0.baseAddress, $0.count, digest.baseAddress) }
            count = 32
        }
    }
}
