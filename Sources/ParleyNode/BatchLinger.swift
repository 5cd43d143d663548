/// The wait between a worker's wake-up and its next claim while messages are flowing (`limits.batch_linger_ms`).
///
/// A worker woken for every webhook claims, sends and commits a handful of messages each time; letting a few
/// milliseconds' worth gather first makes that one claim and one set of commits for several webhooks (at 2,000
/// messages/s the nodes' CPU per message fell by a fifth with 3 ms, BENCHMARKS.md). A worker that has found no work
/// for `quietAfter` claims at once, so a message arriving after a quiet spell is never held back.
struct BatchLinger: Sendable {
    let duration: Duration
    let quietAfter: Duration
    private(set) var lastWork: ContinuousClock.Instant?

    init(milliseconds: Int, quietAfter: Duration = .milliseconds(50)) {
        duration = .milliseconds(max(0, milliseconds))
        self.quietAfter = quietAfter
    }

    /// Call after a pass that found work.
    mutating func worked(at now: ContinuousClock.Instant = .now) { lastWork = now }

    /// How long to let work gather before the next claim, for a worker that was just woken.
    func pause(now: ContinuousClock.Instant = .now) -> Duration {
        guard duration > .zero, let lastWork, now - lastWork < quietAfter else { return .zero }
        return duration
    }

    /// Waits out ``pause(now:)``; returns early on cancellation (a graceful shutdown never waits for it).
    func gather() async {
        let pause = pause()
        if pause > .zero { try? await Task.sleep(for: pause) }
    }

    /// What a worker loop does after each pass: one that found work goes again at once (and notes the time); one that
    /// found none sleeps until `key` is signalled (or 250 ms pass), then lets work gather while traffic flows.
    mutating func afterPass(worked: Bool, wakeups: Wakeups, key: String) async {
        if worked {
            self.worked()
        } else {
            await wakeups.wait(key, timeout: .milliseconds(250))
            await gather()
        }
    }
}
