import ParleyCore
import Testing

@Suite("Bounded LRU cache")
struct LRUCacheTests {
    @Test func holdsAtMostItsCapacityAndEvictsTheLeastRecentlyUsed() {
        var cache = LRUCache<Int, String>(capacity: 16)
        for key in 0..<16 { cache.insert("v\(key)", forKey: key) }
        // Touch the first four so they are the most recently used.
        for key in 0..<4 { #expect(cache.value(forKey: key) == "v\(key)") }
        let evicted = cache.insert("v16", forKey: 16)
        // Down to seven eighths of the capacity in one batch: 17 → 14, the three least recently used go.
        #expect(cache.count == 14)
        #expect(evicted.map(\.key).sorted() == [4, 5, 6])
        #expect(evicted.map(\.value).sorted() == ["v4", "v5", "v6"])
        for key in [0, 1, 2, 3, 7, 15, 16] { #expect(cache.peek(key) != nil) }
        for key in 4...6 { #expect(cache.peek(key) == nil) }
    }

    @Test func neverGrowsPastCapacityUnderManyInsertions() {
        var cache = LRUCache<Int, Int>(capacity: 100)
        var evictions = 0
        for key in 0..<10_000 {
            evictions += cache.insert(key, forKey: key).count
            #expect(cache.count <= 100)
        }
        #expect(evictions == 10_000 - cache.count)
        #expect(cache.peek(9_999) == 9_999)
    }

    @Test func peekDoesNotProtectAnEntryButValueDoes() {
        var cache = LRUCache<String, Int>(capacity: 8)
        for (index, key) in ["a", "b", "c", "d", "e", "f", "g", "h"].enumerated() { cache.insert(index, forKey: key) }
        _ = cache.peek("a")
        _ = cache.value(forKey: "b")
        let evicted = cache.insert(8, forKey: "i")
        // 9 → 7 entries: "a" (peeked, not used) and "c" go; "b" was used after them.
        #expect(evicted.map(\.key) == ["a", "c"])
        #expect(cache.peek("b") == 1)
    }

    @Test func replacingRemovingAndClearing() {
        var cache = LRUCache<String, Int>(capacity: 2)
        #expect(cache.capacity == 8)  // at least 8
        cache.insert(1, forKey: "a")
        cache.insert(2, forKey: "a")
        #expect(cache.count == 1 && cache.peek("a") == 2)
        #expect(cache.removeValue(forKey: "a") == 2)
        #expect(cache.removeValue(forKey: "a") == nil)
        cache.insert(3, forKey: "b")
        cache.removeAll()
        #expect(cache.count == 0 && cache.value(forKey: "b") == nil)
    }
}
