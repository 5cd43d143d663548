import Synchronization
import Testing
@testable import ParleyCore

@Suite struct RandomPoolTests {
    /// A source that counts its calls and hands out a running byte counter, so every byte drawn is traceable.
    final class CountingSource: Sendable {
        let calls = Mutex<[Int]>([])
        let next = Mutex<UInt8>(0)

        var fill: RandomPool.Fill {
            { buffer in
                self.calls.withLock { $0.append(buffer.count) }
                self.next.withLock { counter in
                    for index in buffer.indices {
                        buffer[index] = counter
                        counter &+= 1
                    }
                }
            }
        }
    }

    @Test func smallDrawsShareOneRefillPerBlockAndNeverRepeatABlocksBytes() {
        let source = CountingSource()
        let pool = RandomPool(blockSize: 64, fill: source.fill)
        #expect(source.calls.withLock { $0 }.isEmpty, "making a pool draws nothing")
        let draws = (0..<10).map { _ in pool.bytes(16) }
        // 4 draws per 64-byte block: refills before draws 1, 5 and 9.
        #expect(source.calls.withLock { $0 } == [64, 64, 64])
        #expect(draws[0] == Array(0..<16))
        #expect(draws[3] == Array(48..<64))
        #expect(draws[4] == Array(64..<80))
        #expect(Set(draws).count == draws.count)
    }

    @Test func aDrawThatDoesNotFitWhatIsLeftRefillsInsteadOfSplitting() {
        let source = CountingSource()
        let pool = RandomPool(blockSize: 64, fill: source.fill)
        _ = pool.bytes(40)
        let straddling = pool.bytes(32)
        #expect(source.calls.withLock { $0 } == [64, 64])
        #expect(straddling == Array(64..<96))
    }

    @Test func aDrawLargerThanABlockGoesStraightToTheSourceAndLeavesThePoolAsItWas() {
        let source = CountingSource()
        let pool = RandomPool(blockSize: 64, fill: source.fill)
        let first = pool.bytes(8)
        let big = pool.bytes(100)
        #expect(big.count == 100)
        #expect(source.calls.withLock { $0 } == [64, 100])
        #expect(pool.bytes(8) == Array(8..<16), "the small draws continue in the same block")
        #expect(first == Array(0..<8))
        #expect(pool.bytes(0).isEmpty)
    }

    @Test func concurrentDrawsNeverReceiveTheSameBytes() async {
        let source = CountingSource()
        // A 16-bit counter would wrap; 4 bytes a draw from a counter source are unique for 64 draws per block.
        let pool = RandomPool(blockSize: 256, fill: source.fill)
        let draws = await withTaskGroup(of: [[UInt8]].self) { group in
            for _ in 0..<8 {
                group.addTask { (0..<8).map { _ in pool.bytes(4) } }
            }
            var all: [[UInt8]] = []
            for await part in group { all += part }
            return all
        }
        #expect(draws.count == 64)
        #expect(Set(draws).count == 64)
    }

    @Test func theSystemPoolGivesFreshBytes() {
        let a = RandomPool.system.bytes(32), b = RandomPool.system.bytes(32)
        #expect(a.count == 32 && b.count == 32)
        #expect(a != b)
        #expect(MIMIContent.randomSalt().count == 16)
        #expect(MIMIContent.randomSalt() != MIMIContent.randomSalt())
    }
}
