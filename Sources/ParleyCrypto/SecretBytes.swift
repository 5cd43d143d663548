import CSodium

/// Secret key material in memory that ParleyCrypto owns and wipes (`sodium_memzero`) when the last
/// reference goes away. The bytes are written once, at initialisation, and only read afterwards, which
/// is why sharing the class across threads is safe.
final class SecretBytes: @unchecked Sendable {
    private let pointer: UnsafeMutablePointer<UInt8>
    let count: Int
    /// Test hook: told, just before the memory is released, whether the wipe left only zeros.
    private let wipeObserver: (@Sendable (Bool) -> Void)?

    init(count: Int, wipeObserver: (@Sendable (Bool) -> Void)? = nil, fill: (UnsafeMutablePointer<UInt8>) -> Void) {
        self.count = count
        self.wipeObserver = wipeObserver
        pointer = .allocate(capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
        fill(pointer)
    }

    convenience init(copying bytes: [UInt8], wipeObserver: (@Sendable (Bool) -> Void)? = nil) {
        self.init(count: bytes.count, wipeObserver: wipeObserver) { destination in
            bytes.withUnsafeBufferPointer { source in
                if let base = source.baseAddress { destination.update(from: base, count: bytes.count) }
            }
        }
    }

    func withUnsafePointer<R>(_ body: (UnsafePointer<UInt8>) throws -> R) rethrows -> R {
        try body(UnsafePointer(pointer))
    }

    /// A copy the caller is responsible for (used for serialization to storage).
    func copyBytes() -> [UInt8] { Array(UnsafeBufferPointer(start: pointer, count: count)) }

    deinit {
        sodium_memzero(pointer, count)
        if let wipeObserver {
            let zeroed = UnsafeBufferPointer(start: pointer, count: count).allSatisfy { $0 == 0 }
            wipeObserver(zeroed)
        }
        pointer.deinitialize(count: max(count, 1))
        pointer.deallocate()
    }
}
