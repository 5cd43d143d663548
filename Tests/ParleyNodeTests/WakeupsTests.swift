import Testing
@testable import ParleyNode

/// Workers sleep on `Wakeups` between passes; a lost signal would leave new rows waiting out the whole timeout.
@Suite struct WakeupsTests {
    /// Far longer than any of these waits should take: a wait that reaches it missed its signal.
    static let timeout: Duration = .seconds(20)

    @Test func aSignalBeforeTheWaitEndsTheNextWaitAtOnce() async {
        let wakeups = Wakeups()
        wakeups.signal("egress:a")
        let started = ContinuousClock.now
        await wakeups.wait("egress:a", timeout: Self.timeout)
        #expect(ContinuousClock.now - started < Self.timeout / 2)
    }

    @Test func aSignalWakesAWaiterThatIsAlreadyWaiting() async throws {
        let wakeups = Wakeups()
        let started = ContinuousClock.now
        async let woken: Void = wakeups.wait("egress:a", timeout: Self.timeout)
        try await Task.sleep(for: .milliseconds(50))
        wakeups.signal("egress:a")
        await woken
        #expect(ContinuousClock.now - started < Self.timeout / 2)
    }

    @Test func aSignalOnAnotherKeyLeavesTheWaiterAsleepAndIsKeptForItsOwnKey() async throws {
        let wakeups = Wakeups()
        let started = ContinuousClock.now
        async let waited: Void = wakeups.wait("egress:a", timeout: .milliseconds(300))
        try await Task.sleep(for: .milliseconds(20))
        wakeups.signal("egress:b")
        await waited
        #expect(ContinuousClock.now - started >= .milliseconds(300))
        let again = ContinuousClock.now
        await wakeups.wait("egress:b", timeout: Self.timeout)
        #expect(ContinuousClock.now - again < Self.timeout / 2)
    }

    @Test func signalsRacingWaitsAreNeverLost() async {
        let wakeups = Wakeups()
        let started = ContinuousClock.now
        // Each round signals while the waiter may be anywhere between its check and its registration.
        for round in 0..<500 {
            let key = "send:t:\(round % 3)"
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await wakeups.wait(key, timeout: Self.timeout) }
                group.addTask { wakeups.signal(key) }
            }
        }
        #expect(ContinuousClock.now - started < Self.timeout / 2)
    }

    @Test func aWaitWithoutASignalLastsItsTimeoutAndLeavesNoSignalBehind() async {
        let wakeups = Wakeups()
        for _ in 0..<2 {
            let started = ContinuousClock.now
            await wakeups.wait("egress:a", timeout: .milliseconds(50))
            #expect(ContinuousClock.now - started >= .milliseconds(50))
        }
    }
}
