import Foundation
@testable import ParleyHarness
import ParleyKit
import Testing

@Suite("Bench readings")
struct BenchReadingTests {
    @Test("the machine's idle and I/O wait shares come from the cpu line of /proc/stat")
    func idleSharesComeFromTheCPULine() throws {
        // user nice system idle iowait irq softirq steal guest guest_nice
        let before = try #require(MachineIdle.Reading(procStat: "cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 50 0 25 400 25 0 0 0 0 0\n"))
        let after = try #require(MachineIdle.Reading(procStat: "cpu  700 0 250 900 150 0 0 0 0 0\ncpu0 350 0 125 450 75 0 0 0 0 0\n"))
        // 1,000 ticks passed: 600 user, 200 system, 100 idle, 100 iowait, so 20 % idle of which 10 % waiting for I/O.
        let shares = MachineIdle(from: before, to: after)
        #expect(abs(shares.idleShare - 0.2) < 1e-9)
        #expect(abs(shares.ioWaitShare - 0.1) < 1e-9)
    }

    @Test("a /proc/stat without a cpu line, or an interval without ticks, gives no reading or zero shares")
    func missingOrEmptyReadings() throws {
        #expect(MachineIdle.Reading(procStat: "intr 1 2 3\n") == nil)
        #expect(MachineIdle.Reading(procStat: "cpu  1 2\n") == nil)
        let reading = try #require(MachineIdle.Reading(procStat: "cpu  1 2 3 4 5 6 7 8\n"))
        #expect(MachineIdle(from: reading, to: reading) == MachineIdle(idleShare: 0, ioWaitShare: 0))
    }

    @Test("a node's store counters are read from its Prometheus text and turned into writes per message")
    func storeCountersFromMetrics() throws {
        let earlier = try #require(BenchStoreWrites.Amounts(prometheusText: """
            # TYPE parley_store_wal_frames_total counter
            parley_store_wal_frames_total 1200
            # TYPE parley_messages_received_total counter
            parley_messages_received_total{tenant="a",peer="b"} 7
            # TYPE parley_store_commits_total counter
            parley_store_commits_total 100

            """))
        #expect(earlier.commits == 100 && earlier.walFrames == 1200)
        let later = try #require(BenchStoreWrites.Amounts(prometheusText: "parley_store_commits_total 150\nparley_store_wal_frames_total 2000\n"))
        #expect(later.perMessage(since: earlier, messages: 400) == BenchStoreWrites.Amounts(commits: 0.125, walFrames: 2))
        #expect(later.perMessage(since: earlier, messages: 0).commits == 50, "no messages counts as one, not a division by zero")
        // A node without the counters (an older build, or metrics switched off) gives no reading.
        #expect(BenchStoreWrites.Amounts(prometheusText: "parley_store_commits_total 3\n") == nil)
        #expect(BenchStoreWrites.Amounts(prometheusText: "parley_store_commits_total x\nparley_store_wal_frames_total 1\n") == nil)
    }

    @Test("this process's storage writes and the machine's counters read on Linux")
    func liveReadingsOnLinux() throws {
        #if os(Linux)
        let reading = try #require(MachineIdle.Reading.now())
        #expect(reading.total >= reading.idle && reading.idle >= reading.ioWait)
        let before = try #require(BenchRun.writtenBytes(pid: getpid()))
        // What a write adds depends on the file system (nothing on tmpfs), so only the reading itself is checked.
        let after = try #require(BenchRun.writtenBytes(pid: getpid()))
        #expect(after >= before)
        #endif
    }

    @Test("a benchmark text is words ending in its sequence number, which the fake API reads from the last part")
    func benchTextsEndWithTheirSequenceNumber() throws {
        for count in [0, 1, 6, 10, 11, 1_014, 16_374] {
            let filler = LoadGenerator.filler(count: count)
            #expect(filler.utf8.count == count)
            #expect(count == 0 || filler.hasSuffix(" "), "the number after it is a word of its own")
            #expect(!filler.contains("  "))
        }
        // A text longer than the app takes arrives in parts; only the last names the message.
        let text = LoadGenerator.filler(count: 16_374) + "PB00000042"
        let parts = Fallbacks.split(text, limit: 2_000, unit: .characters)
        #expect(parts.count == 9)
        let bodies = parts.map { Array(#"{"recipient":{"id":"1"},"message":{"text":"\#($0)"}}"#.utf8) }
        #expect(bodies.map(FakeNativeAPI.sequenceNumber(in:)) == Array(repeating: nil, count: 8) + [42])
        #expect(FakeNativeAPI.sequenceNumber(in: Array("PB00000007 x PB00000008".utf8)) == 8, "the last number counts")
        #expect(FakeNativeAPI.sequenceNumber(in: Array("PB0000007".utf8)) == nil)
    }

    @Test("settings for the harness's nodes replace a key the config has and add one it lacks, in that table only")
    func harnessSettingsReplaceOrAdd() throws {
        let config = "[limits]\nmax_queue_per_peer = 5\n\n[[tenants]]\nname = \"a\"\n\n[tenants.policy]\nmax_text_bytes = 4096\n"
        let limits = try Federation.setting(["max_queue_per_peer": "3", "batch_linger_ms": "1"], inTable: "limits", of: config, file: "x.toml")
        #expect(limits == "[limits]\nbatch_linger_ms = 1\nmax_queue_per_peer = 3\n\n[[tenants]]\nname = \"a\"\n\n[tenants.policy]\nmax_text_bytes = 4096\n")
        let policy = try Federation.setting(["max_text_bytes": "16384", "name": "b"], inTable: "tenants.policy", of: config, file: "x.toml")
        #expect(policy.contains("max_text_bytes = 16384\n") && !policy.contains("4096") && policy.contains("name = \"a\""))
        #expect(try Federation.setting([:], inTable: "absent", of: config, file: "x.toml") == config)
        #expect(throws: HarnessError.self) { try Federation.setting(["k": "1"], inTable: "absent", of: config, file: "x.toml") }
    }
}
