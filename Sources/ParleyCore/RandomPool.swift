#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Cryptographically secure random bytes drawn from the operating system in blocks, handed out in small pieces.
///
/// Sealing one message needs five small draws (salt, envelope id, nonce, content key, wrap nonce); asking the kernel
/// for each is a system call apiece, several per message on the hot path. A pool asks once per `blockSize` bytes
/// and serves the draws from memory under a lock. Bytes handed out are wiped from the pool at once, so a later reader
/// of the process's memory finds no copy of a nonce or key there beyond the caller's own.
public final class RandomPool: Sendable {
    /// Fills a buffer with secure random bytes; must fill it completely or stop the process (no entropy is a broken
    /// host, not bad input).
    public typealias Fill = @Sendable (UnsafeMutableRawBufferPointer) -> Void

    // Only ever touched under the mutex.
    private struct State: ~Copyable, @unchecked Sendable {
        var block: UnsafeMutableRawBufferPointer
        var used: Int

        deinit {
            block.initializeMemory(as: UInt8.self, repeating: 0)
            block.deallocate()
        }
    }

    private let state: Mutex<State>
    private let fill: Fill
    private let blockSize: Int

    /// The system's generator (`getrandom`, `arc4random_buf` on Darwin), shared by the whole process.
    public static let system = RandomPool(fill: RandomPool.systemFill)

    /// - Parameters:
    ///   - blockSize: bytes drawn per refill; a draw larger than this goes straight to `fill`.
    ///   - fill: the source.
    public init(blockSize: Int = 4096, fill: @escaping Fill) {
        precondition(blockSize > 0, "RandomPool block size must be positive")
        self.blockSize = blockSize
        self.fill = fill
        let block = UnsafeMutableRawBufferPointer.allocate(byteCount: blockSize, alignment: 16)
        block.initializeMemory(as: UInt8.self, repeating: 0)
        // Starts empty: the first draw refills, so making a pool costs no entropy.
        state = Mutex(State(block: block, used: blockSize))
    }

    /// `count` fresh random bytes.
    public func bytes(_ count: Int) -> [UInt8] {
        guard count > 0 else { return [] }
        return [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            draw(into: UnsafeMutableRawBufferPointer(buffer))
            initialized = count
        }
    }

    /// Fills `buffer` with fresh random bytes.
    public func draw(into buffer: UnsafeMutableRawBufferPointer) {
        let count = buffer.count
        guard count > 0 else { return }
        if count > blockSize {
            fill(buffer)
            return
        }
        state.withLock { state in
            if state.used + count > blockSize {
                fill(state.block)
                state.used = 0
            }
            let source = UnsafeMutableRawBufferPointer(rebasing: state.block[state.used..<state.used + count])
            buffer.copyMemory(from: UnsafeRawBufferPointer(source))
            source.initializeMemory(as: UInt8.self, repeating: 0)
            state.used += count
        }
    }

    /// The operating system's CSPRNG: `getentropy` (the `getrandom` system call, at most 256 bytes a call) on Linux,
    /// `arc4random_buf` on Darwin.
    public static let systemFill: Fill = { buffer in
        guard let base = buffer.baseAddress else { return }
        #if canImport(Glibc)
        var offset = 0
        while offset < buffer.count {
            let chunk = min(256, buffer.count - offset)
            guard getentropy(base + offset, chunk) == 0 else {
                preconditionFailure("getentropy failed (errno \(errno)): the host has no usable randomness source")
            }
            offset += chunk
        }
        #else
        arc4random_buf(base, buffer.count)
        #endif
    }
}
