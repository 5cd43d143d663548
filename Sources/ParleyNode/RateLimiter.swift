import Synchronization

/// Token buckets keyed by peer: `rate` tokens a second up to `burst`.
final class RateLimiter: Sendable {
    private struct Bucket { var tokens: Double; var updated: Double }
    private let state = Mutex<[String: Bucket]>([:])
    let rate: Double
    let burst: Double

    init(rate: Double, burst: Double) {
        self.rate = rate
        self.burst = max(burst, 1)
    }

    /// Takes `count` tokens for `key` at time `now` (seconds); false when the bucket is empty. Rate 0 never limits.
    func take(_ key: String, count: Double = 1, now: Double) -> Bool {
        guard rate > 0 else { return true }
        return state.withLock { buckets in
            var bucket = buckets[key] ?? Bucket(tokens: burst, updated: now)
            bucket.tokens = min(burst, bucket.tokens + max(0, now - bucket.updated) * rate)
            bucket.updated = now
            let allowed = bucket.tokens >= count
            if allowed { bucket.tokens -= count }
            buckets[key] = bucket
            return allowed
        }
    }
}
