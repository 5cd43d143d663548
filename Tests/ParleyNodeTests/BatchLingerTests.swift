@testable import ParleyNode
import Testing

@Suite struct BatchLingerTests {
    let start = ContinuousClock.now

    @Test func aWorkerThatHasNotFoundWorkYetClaimsAtOnce() {
        #expect(BatchLinger(milliseconds: 3).pause(now: start) == .zero)
    }

    @Test func whileWorkIsFlowingAWokenWorkerLetsMoreGather() {
        var linger = BatchLinger(milliseconds: 3, quietAfter: .milliseconds(50))
        linger.worked(at: start)
        #expect(linger.pause(now: start + .milliseconds(2)) == .milliseconds(3))
        #expect(linger.pause(now: start + .milliseconds(49)) == .milliseconds(3))
    }

    @Test func afterAQuietSpellTheNextMessageIsNotHeldBack() {
        var linger = BatchLinger(milliseconds: 3, quietAfter: .milliseconds(50))
        linger.worked(at: start)
        #expect(linger.pause(now: start + .milliseconds(50)) == .zero)
        #expect(linger.pause(now: start + .seconds(5)) == .zero)
    }

    @Test func zeroMillisecondsTurnsItOff() {
        var linger = BatchLinger(milliseconds: 0)
        linger.worked(at: start)
        #expect(linger.pause(now: start) == .zero)
    }

    @Test func gatheringReturnsEarlyWhenCancelled() async {
        var linger = BatchLinger(milliseconds: 1_000)
        linger.worked()
        let task = Task { await linger.gather() }
        task.cancel()
        let clock = ContinuousClock()
        let took = await clock.measure { await task.value }
        #expect(took < .milliseconds(500))
    }
}
