/// A bounded map that forgets its least recently used entries when it grows past `capacity`.
///
/// A value type with no locking: the owner keeps it in an actor or behind a `Mutex`. Eviction runs in
/// batches (down to seven eighths of the capacity), so a full cache pays one sort per `capacity / 8`
/// insertions instead of one scan per insertion, and a lookup or an insertion stays O(1) otherwise.
///
/// Its methods are `@inlinable` so that the owners' modules specialise them for their key and value types: the cache
/// is consulted several times per message.
public struct LRUCache<Key: Hashable, Value> {
    @usableFromInline
    struct Slot {
        @usableFromInline var value: Value
        @usableFromInline var lastUse: UInt64

        @inlinable init(value: Value, lastUse: UInt64) {
            self.value = value
            self.lastUse = lastUse
        }
    }

    /// The most entries held at once.
    public let capacity: Int
    @usableFromInline var slots: [Key: Slot] = [:]
    @usableFromInline var tick: UInt64 = 0

    /// An empty cache holding up to `capacity` entries (at least 8).
    @inlinable
    public init(capacity: Int) {
        self.capacity = max(8, capacity)
    }

    /// Entries currently held.
    @inlinable
    public var count: Int { slots.count }

    /// The value for `key`, marking it as just used; `nil` if absent.
    @inlinable
    public mutating func value(forKey key: Key) -> Value? {
        guard let index = slots.index(forKey: key) else { return nil }
        tick += 1
        slots.values[index].lastUse = tick
        return slots.values[index].value
    }

    /// The value for `key` without marking it as used.
    @inlinable
    public func peek(_ key: Key) -> Value? { slots[key]?.value }

    /// Stores `value` under `key` (replacing any previous value) and returns the entries evicted to make room,
    /// so an owner with secondary indexes can drop them there too.
    @inlinable @discardableResult
    public mutating func insert(_ value: Value, forKey key: Key) -> [(key: Key, value: Value)] {
        tick += 1
        slots[key] = Slot(value: value, lastUse: tick)
        guard slots.count > capacity else { return [] }
        let keep = capacity - capacity / 8
        let victims = slots.sorted { $0.value.lastUse < $1.value.lastUse }.prefix(slots.count - keep)
        var evicted: [(key: Key, value: Value)] = []
        evicted.reserveCapacity(victims.count)
        for (victim, slot) in victims {
            slots[victim] = nil
            evicted.append((victim, slot.value))
        }
        return evicted
    }

    /// Removes and returns the value for `key`.
    @inlinable @discardableResult
    public mutating func removeValue(forKey key: Key) -> Value? {
        slots.removeValue(forKey: key)?.value
    }

    /// Forgets every entry.
    @inlinable
    public mutating func removeAll() {
        slots.removeAll()
    }
}

extension LRUCache: Sendable where Key: Sendable, Value: Sendable {}
extension LRUCache.Slot: Sendable where Key: Sendable, Value: Sendable {}
