import ArgumentParser
import Foundation
import ParleyHarness

/// `parley bench`: real nodes on loopback, fake app APIs and a WhatsApp webhook load generator in this process;
/// throughput, latency percentiles, peak RSS, and the same-run raw floor (AEAD + durable insert).
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "End-to-end benchmark: WhatsApp webhooks in, messages out at the destination apps' APIs.")

    @Flag(name: .long, help: "A short run (under a minute): 4 s per phase.")
    var quick = false

    @Option(name: .long, help: "Text bytes per message (100, 1024; at most the destination app's text limit).")
    var size = 100

    @Option(name: .long, help: "Number of conversations (WhatsApp user → remote contact pairs).")
    var conversations = 16

    @Option(name: .long, help: "1: WhatsApp → Messenger (2 nodes); 3: WhatsApp → Messenger and Instagram (3 nodes).")
    var peers = 1

    @Option(name: .long, help: "Known users per app, onboarded before the run with consent, stored contacts and keys issued ahead of time (default: just enough for --conversations, keys on first use).")
    var users: Int?

    @Option(name: .long, help: "Offered rate of the fixed-rate phase, messages per second.")
    var rate = 100.0

    @Option(name: .long, help: "Seconds per measured phase (default 15; 4 with --quick).")
    var duration: Double?

    @Option(name: .long, help: "Messages per webhook POST.")
    var batch = 5

    @Option(name: .long, help: "Concurrent webhook POSTs at saturation.")
    var concurrency = 8

    @Option(name: .long, help: "At saturation, at most this many messages sent but not yet delivered (bounds the queue; latency ≈ window / throughput).")
    var window = 256

    @Option(name: .long, help: "Take the destination node(s) down for this many seconds in the middle of the fixed-rate phase (the load goes on): shows where the backlog goes, the sender's memory meanwhile, and the drain.")
    var outage: Double = 0

    @Option(name: .long, help: "limits.max_queue_per_peer of every node (default: the node's default): at this many queued envelopes a node answers 503 + Retry-After.")
    var maxQueue: Int?

    @Option(name: .long, help: "limits.batch_linger_ms of every node (default: the node's default, 0): how long a woken sender or egress worker lets messages gather while traffic flows; 0 claims at once.")
    var linger: Int?

    @Option(name: .long, help: "Directory with the demo config templates (default: Config/demo).")
    var configs: String?

    @Option(name: .long, help: "Where to put node data, configs and logs (default: a new temporary directory, removed afterwards).")
    var workDir: String?

    func run() async throws {
        var o = BenchOptions()
        o.size = size
        o.conversations = conversations
        o.peers = peers
        o.users = users
        o.rate = rate
        o.duration = duration ?? (quick ? 4 : 15)
        o.batch = batch
        o.concurrency = concurrency
        o.window = window
        o.drainTimeout = quick ? 10 : 30
        o.outage = outage
        o.maxQueue = maxQueue
        o.lingerMilliseconds = linger
        do { try BenchRun.validate(o) } catch { throw ValidationError("\(error)") }

        let templates = try configs ?? DemoCommand.findTemplates()
        let temporary = workDir == nil
        let work = workDir ?? (NSTemporaryDirectory() + "parley-bench-\(ProcessInfo.processInfo.processIdentifier)")
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        say("parley bench: size \(o.size) B, \(o.conversations) conversations, peers \(o.peers), batch \(o.batch), "
            + "offered \(Int(o.rate)) msg/s then saturation (\(o.concurrency) posters, window \(o.window)), \(o.duration) s each")
        say("  work directory: \(work)")
        let started = ContinuousClock.now
        let result: BenchResult
        do {
            result = try await BenchRun(options: o, executable: executable, templates: templates, workDirectory: work, say: { say($0) }).run()
        } catch {
            throw CLIError("the benchmark failed: \(error) (logs in \(work))")
        }
        if temporary { try? FileManager.default.removeItem(atPath: work) }

        for phase in [result.offered, result.saturation] {
            let l = phase.latency
            say(String(format: "  %@: sent %d, delivered %d, refused %d; %.1f msg/s delivered (webhooks accepted %.1f msg/s)",
                       phase.name, phase.sent, phase.delivered, phase.rejected, phase.messagesPerSecond, phase.ingestPerSecond))
            say(String(format: "    latency webhook POST → destination API: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max %.2f ms",
                       l.p50, l.p90, l.p99, l.p999, l.max))
        }
        say("  peak RSS (VmHWM): " + result.apps.map { String(format: "%@ %.1f MiB", $0, result.peakRSS[$0] ?? 0) }.joined(separator: ", "))
        say(String(format: "  node CPU at the offered rate: %.3f ms/msg, all nodes", result.offeredCPUMsPerMessage))
        say("  node CPU at saturation: " + result.apps.map { String(format: "%@ %.2f ms/msg (%.2f cores)", $0, result.cpuMsPerMessage[$0] ?? 0, result.cpuCores[$0] ?? 0) }.joined(separator: ", "))
        say(String(format: "  at saturation: machine idle %.1f %% of its CPU time (of which waiting for I/O %.1f %%); this bench process (load generator, fake APIs) %.3f ms/msg",
                   result.machineIdle.idleShare * 100, result.machineIdle.ioWaitShare * 100, result.benchCPUMsPerMessage))
        say("  storage written at saturation: " + result.apps.map { String(format: "%@ %.1f KiB/msg", $0, result.diskKiBPerMessage[$0] ?? 0) }.joined(separator: ", "))
        if !result.storeWrites.isEmpty {
            say("  store writes per message, saturation (offered rate): " + result.apps.compactMap { app in
                result.storeWrites[app].map { w in
                    String(format: "%@ %.3f commits, %.2f log frames (%.3f, %.2f)", app, w.saturation.commits,
                           w.saturation.walFrames, w.offered.commits, w.offered.walFrames)
                }
            }.joined(separator: "; "))
        }
        if result.nativeSendsPerMessage > 1.05 {
            say(String(format: "  each text is longer than a destination app takes: it crosses as %.2f native messages on average, and a message counts as delivered when its last part arrives",
                       result.nativeSendsPerMessage))
        }
        let r = result.raw
        say(String(format: "  raw, same run: XChaCha20-Poly1305 %.2f µs/msg (%d B), Ed25519 sign+verify %.1f µs, SQLite WAL FULL insert %.1f µs/msg (%d B rows, %d per commit)",
                   r.aeadMicros, o.size, r.signVerifyMicros, r.insertMicros, r.rowBytes, r.batch))
        say(String(format: "  raw limit 1/(aead+insert) = %.0f msg/s; Parley at saturation = %.1f msg/s → limit_ratio %.4f",
                   r.limitMessagesPerSecond, result.saturation.messagesPerSecond, result.limitRatio))
        if result.duplicates > 0 { say("  note: \(result.duplicates) messages arrived more than once (at-least-once redelivery)") }
        say("  total time \(started.duration(to: .now))")
        say(result.keyValues)
    }
}
