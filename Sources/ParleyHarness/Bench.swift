import AsyncHTTPClient
import Foundation
import Histogram
import NIOCore
import NIOHTTP1
import ParleyCore
import ParleyNode
import ParleyCrypto
import Synchronization

/// Settings of one `parley bench` run.
public struct BenchOptions: Sendable {
    /// Text bytes per message (ASCII, so also characters).
    public var size = 100
    public var conversations = 16
    /// 1: WhatsApp → Messenger (two nodes); 3: WhatsApp → Messenger and Instagram (the three demo nodes).
    public var peers = 1
    /// Known users per app, onboarded with consent, contacts and keys before the run (nil: just enough for
    /// `conversations`, keys issued on first use).
    public var users: Int?
    /// Offered rate of the fixed-rate phase, messages/s.
    public var rate = 100.0
    /// Seconds of each measured phase.
    public var duration = 10.0
    /// Messages per webhook POST.
    public var batch = 5
    /// Concurrent webhook POSTs at saturation.
    public var concurrency = 8
    /// Messages sent but not yet delivered, at most, at saturation (keeps the queue, and the drain, bounded).
    public var window = 256
    public var drainTimeout = 30.0
    public var logLevel = "warning"
    /// Seconds the destination node(s) are down in the middle of the fixed-rate phase (0: no outage).
    public var outage = 0.0
    /// `limits.max_queue_per_peer` of every node (nil: the default).
    public var maxQueue: Int?
    /// `limits.batch_linger_ms` of every node (nil: the default).
    public var lingerMilliseconds: Int?

    public init() {}
}

/// Latency percentiles of one phase, in milliseconds.
public struct BenchLatency: Sendable {
    public var p50: Double, p90: Double, p99: Double, p999: Double, max: Double
    public var count: Int
}

/// Results of one phase.
public struct BenchPhaseResult: Sendable {
    public var name: String
    public var sent: Int
    public var delivered: Int
    public var rejected: Int
    /// Delivered messages / (last arrival − first send).
    public var messagesPerSecond: Double
    /// Messages accepted by the webhook per second of sending.
    public var ingestPerSecond: Double
    public var latency: BenchLatency
}

/// Everything `parley bench` reports.
public struct BenchResult: Sendable {
    public var options: BenchOptions
    public var users: Int
    public var apps: [String]
    public var offered: BenchPhaseResult
    public var saturation: BenchPhaseResult
    /// VmHWM per node, MiB.
    public var peakRSS: [String: Double]
    public var raw: BenchRawCosts
    public var duplicates: Int
    /// CPU time (user + system) each node used per delivered message during the saturation phase, milliseconds.
    public var cpuMsPerMessage: [String: Double]
    /// CPU time of each node during the saturation phase / its wall time (1.0 = one core busy).
    public var cpuCores: [String: Double]
    /// CPU time (user + system) of all nodes together per message delivered in the fixed-rate phase, milliseconds.
    /// Below saturation the nodes do not compete with the load generator for the cores, so this moves less from
    /// run to run than the saturation figure: the one to compare when a change is meant to save CPU.
    public var offeredCPUMsPerMessage: Double
    /// CPU time of the bench process itself (load generator and fake app APIs) per message delivered during the
    /// saturation phase, milliseconds: on a small machine it competes with the nodes for the same cores.
    public var benchCPUMsPerMessage: Double
    /// The machine's CPU time spent idle (and waiting for I/O) during the saturation phase, as a share of all of it.
    /// Well above zero at saturation, the path waits somewhere instead of being bound by the cores.
    public var machineIdle: MachineIdle
    /// Bytes each node caused to be written to storage (`write_bytes` of /proc/<pid>/io: the WAL, checkpoints into the
    /// database file) per message delivered during the saturation phase, KiB.
    public var diskKiBPerMessage: [String: Double]
    /// Store commits and write-ahead log frames each node wrote per message delivered, in the fixed-rate phase and at
    /// saturation, from the nodes' `/metrics`. Steadier than CPU time from run to run: the measure of a change to
    /// what the store writes. A node whose counters could not be read is left out.
    public var storeWrites: [String: BenchStoreWrites] = [:]
    /// Native send requests the destination apps received per message delivered at saturation: 1, unless the texts
    /// are longer than a destination takes and each crosses as several messages.
    public var nativeSendsPerMessage: Double = 1
    /// With `outage`: what a peer outage did to the sending node.
    public var outage: BenchOutage?

    public var limitRatio: Double { saturation.messagesPerSecond / raw.limitMessagesPerSecond }

    /// The final `key=value` line.
    public var keyValues: String {
        let lingerText = options.lingerMilliseconds.map { String($0) } ?? "default"
        func f(_ x: Double) -> String { String(format: "%.3f", x) }
        let pairs: [(String, String)] = [
            ("msgs_per_s", String(format: "%.1f", saturation.messagesPerSecond)),
            ("p50_ms", f(saturation.latency.p50)), ("p90_ms", f(saturation.latency.p90)),
            ("p99_ms", f(saturation.latency.p99)), ("p999_ms", f(saturation.latency.p999)),
            ("offered_rate", String(format: "%.0f", options.rate)),
            ("offered_msgs_per_s", String(format: "%.1f", offered.messagesPerSecond)),
            ("offered_p50_ms", f(offered.latency.p50)), ("offered_p90_ms", f(offered.latency.p90)),
            ("offered_p99_ms", f(offered.latency.p99)), ("offered_p999_ms", f(offered.latency.p999)),
            ("peak_rss_mb", String(format: "%.1f", peakRSS.values.max() ?? 0)),
            ("node_cpu_ms_per_msg", f(cpuMsPerMessage.values.reduce(0, +))),
            ("offered_node_cpu_ms_per_msg", f(offeredCPUMsPerMessage)),
            ("raw_aead_us", f(raw.aeadMicros)), ("raw_sign_verify_us", f(raw.signVerifyMicros)), ("raw_insert_us", f(raw.insertMicros)),
            ("raw_limit_msgs_per_s", String(format: "%.0f", raw.limitMessagesPerSecond)),
            ("limit_ratio", String(format: "%.4f", limitRatio)),
            ("size", String(options.size)), ("conversations", String(options.conversations)), ("peers", String(options.peers)),
            ("users", String(users)), ("batch", String(options.batch)), ("window", String(options.window)), ("linger_ms", lingerText),
            ("bench_cpu_ms_per_msg", f(benchCPUMsPerMessage)),
            ("idle_pct", String(format: "%.1f", machineIdle.idleShare * 100)),
            ("iowait_pct", String(format: "%.1f", machineIdle.ioWaitShare * 100)),
            ("disk_write_kb_per_msg", String(format: "%.1f", diskKiBPerMessage.values.reduce(0, +))),
            ("commits_per_msg", f(storeWrites.values.map(\.saturation.commits).reduce(0, +))),
            ("wal_frames_per_msg", String(format: "%.2f", storeWrites.values.map(\.saturation.walFrames).reduce(0, +))),
            ("offered_commits_per_msg", f(storeWrites.values.map(\.offered.commits).reduce(0, +))),
            ("offered_wal_frames_per_msg", String(format: "%.2f", storeWrites.values.map(\.offered.walFrames).reduce(0, +))),
            ("native_sends_per_msg", String(format: "%.2f", nativeSendsPerMessage)),
            ("lost", String(offered.sent - offered.delivered - offered.rejected + saturation.sent - saturation.delivered - saturation.rejected)),
        ] + (outage.map { o in [
            ("outage_s", String(format: "%.1f", o.seconds)), ("outage_rss_before_mb", String(format: "%.1f", o.rssBeforeMiB)),
            ("outage_rss_max_mb", String(format: "%.1f", o.rssMaxMiB)), ("outage_undelivered", String(o.undeliveredAtRecovery)),
            ("outage_pushed_back", String(o.pushedBack)), ("outage_drain_s", String(format: "%.1f", o.drainSeconds)),
        ] } ?? [])
        return pairs.map { "\($0.0)=\($0.1)" }.joined(separator: " ")
    }
}

/// A node's store commits and write-ahead log frames per message delivered, in the two measured phases.
public struct BenchStoreWrites: Sendable, Equatable {
    /// Commits and log frames: a node's running totals as its `/metrics` shows them, or what a phase wrote per message.
    public struct Amounts: Sendable, Equatable {
        public var commits: Double
        public var walFrames: Double

        public init(commits: Double, walFrames: Double) {
            self.commits = commits
            self.walFrames = walFrames
        }

        /// Reads `parley_store_commits_total` and `parley_store_wal_frames_total` from Prometheus text; `nil` when
        /// either is missing.
        public init?(prometheusText text: String) {
            var commits: Double?, frames: Double?
            for line in text.split(separator: "\n") where !line.hasPrefix("#") {
                let fields = line.split(separator: " ")
                guard fields.count >= 2, let value = Double(fields[1]) else { continue }
                switch fields[0] {
                case "parley_store_commits_total": commits = value
                case "parley_store_wal_frames_total": frames = value
                default: continue
                }
            }
            guard let commits, let frames else { return nil }
            self.init(commits: commits, walFrames: frames)
        }

        /// What was written from the totals `earlier` to these, per message of `messages`.
        public func perMessage(since earlier: Amounts, messages: Int) -> Amounts {
            let n = Double(max(1, messages))
            return Amounts(commits: (commits - earlier.commits) / n, walFrames: (walFrames - earlier.walFrames) / n)
        }
    }
    public var offered: Amounts
    public var saturation: Amounts
}

/// Where the machine's CPU time went, as shares of all of it (every core), between two readings of /proc/stat.
public struct MachineIdle: Sendable, Equatable {
    /// Idle, waiting for I/O included.
    public var idleShare: Double
    /// Idle while some I/O was outstanding (a part of `idleShare`).
    public var ioWaitShare: Double

    public init(idleShare: Double, ioWaitShare: Double) {
        self.idleShare = idleShare
        self.ioWaitShare = ioWaitShare
    }

    /// The machine's cumulative CPU time counters, in clock ticks (the `cpu` line of /proc/stat).
    public struct Reading: Sendable, Equatable {
        public var total: UInt64
        public var idle: UInt64
        public var ioWait: UInt64

        /// Reads the `cpu` line of a /proc/stat text: user nice system idle iowait irq softirq steal …; `nil` when
        /// there is none (not Linux).
        public init?(procStat text: String) {
            guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("cpu ") }) else { return nil }
            let ticks = line.split(separator: " ").dropFirst().prefix(8).compactMap { UInt64($0) }
            guard ticks.count >= 5 else { return nil }
            total = ticks.reduce(0, +)
            idle = ticks[3] + ticks[4]
            ioWait = ticks[4]
        }

        /// This machine's reading now.
        public static func now() -> Reading? {
            (try? String(contentsOfFile: "/proc/stat", encoding: .utf8)).flatMap(Reading.init(procStat:))
        }
    }

    /// The shares between two readings (zero when no time passed between them).
    public init(from start: Reading, to end: Reading) {
        let total = Double(end.total &- start.total)
        idleShare = total > 0 ? Double(end.idle &- start.idle) / total : 0
        ioWaitShare = total > 0 ? Double(end.ioWait &- start.ioWait) / total : 0
    }
}

/// A destination node taken down during the fixed-rate phase while the load goes on.
public struct BenchOutage: Sendable {
    public var seconds: Double
    /// The sending node's VmRSS just before the outage and its maximum during it (sampled every 200 ms), MiB.
    public var rssBeforeMiB: Double
    public var rssMaxMiB: Double
    /// Messages sent but not delivered when the peer came back (in the sender's outbox, or held by the app after a 503).
    public var undeliveredAtRecovery: Int
    /// Webhook POSTs the sending node answered 503 (queue full: the app redelivered them later).
    public var pushedBack: Int
    /// From the peer's restart until every message of the phase had arrived.
    public var drainSeconds: Double
}

/// One end-to-end benchmark: real `parley serve` nodes, in-process fake app APIs, an in-process WhatsApp webhook
/// load generator. Everything it starts, it stops, also on error.
public struct BenchRun: Sendable {
    public let options: BenchOptions
    public let executable: String
    public let templates: String
    public let workDirectory: String
    let say: @Sendable (String) -> Void

    /// The longest text the bench sends: five in a webhook stay well within a node's 1 MiB body limit. Texts longer
    /// than a destination app takes (Messenger 2,000 characters, Instagram 1,000 bytes) reach it as several messages.
    static let maxSize = 64 * 1024

    public init(options: BenchOptions, executable: String, templates: String, workDirectory: String,
                say: @escaping @Sendable (String) -> Void) {
        self.options = options
        self.executable = executable
        self.templates = templates
        self.workDirectory = workDirectory
        self.say = say
    }

    /// The `[limits]` keys the options set in every node's config.
    static func limits(_ o: BenchOptions) -> [String: String] {
        var limits: [String: String] = [:]
        limits["max_queue_per_peer"] = o.maxQueue.map(String.init)
        limits["batch_linger_ms"] = o.lingerMilliseconds.map(String.init)
        return limits
    }

    /// `[tenants.policy]` settings of every node: the demo nodes refuse texts over 4 KiB unless told otherwise.
    static func policy(_ o: BenchOptions) -> [String: String] {
        o.size > 4096 ? ["max_text_bytes": String(o.size)] : [:]
    }

    /// The destination apps for `peers`.
    static func destinations(peers: Int) -> [String] { peers >= 3 ? ["messenger", "instagram"] : ["messenger"] }

    /// Checks the options against what the demo apps can carry; the message says what to change.
    public static func validate(_ o: BenchOptions) throws {
        guard o.peers == 1 || o.peers == 3 else { throw HarnessError("bench.peers", "--peers must be 1 or 3") }
        guard o.size >= 16, o.size <= maxSize else {
            throw HarnessError("bench.size", "--size must be between 16 and \(maxSize) bytes (each text ends with its 10-character sequence number, and five go in one webhook)")
        }
        guard o.outage >= 0, o.outage < 600, o.maxQueue.map({ $0 >= 1 }) ?? true, o.lingerMilliseconds.map({ (0...1_000).contains($0) }) ?? true else {
            throw HarnessError("bench.outage", "--outage must be 0–600 seconds, --max-queue at least 1 and --linger 0–1000 ms")
        }
        guard o.conversations >= 1, o.batch >= 1, o.concurrency >= 1, o.window >= o.batch, o.rate > 0, o.duration > 0 else {
            throw HarnessError("bench.options", "--conversations, --batch, --concurrency, --rate and --duration must be positive, and --window at least --batch")
        }
        if let u = o.users, u * u * destinations(peers: o.peers).count < o.conversations {
            throw HarnessError("bench.users", "\(u) users per app allow at most \(u * u * destinations(peers: o.peers).count) conversations; raise --users")
        }
    }

    struct Conversation {
        var from: String
        var account: String
    }

    public func run() async throws -> BenchResult {
        try Self.validate(options)
        let dests = Self.destinations(peers: options.peers)
        let apps = ["whatsapp"] + dests
        let perDest = (options.conversations + dests.count - 1) / dests.count
        let users = options.users ?? max(1, Int(Double(perDest).squareRoot().rounded(.up)))
        let federation = try Federation(executable: executable, configDirectory: templates, workDirectory: workDirectory,
                                        logLevel: options.logLevel, extraUsers: users - 1,
                                        limits: Self.limits(options), policy: Self.policy(options))
        let wa = federation.op("whatsapp")
        // Conversation c: WhatsApp user i → the account standing for user k of the destination app.
        var conversations: [Conversation] = []
        for c in 0..<options.conversations {
            let dest = federation.op(dests[c % dests.count])
            let j = c / dests.count
            conversations.append(Conversation(from: Federation.user(wa, j % users),
                                              account: Federation.account(in: wa, for: dest, (j / users) % users)))
        }

        let recorder = BenchRecorder(phases: 3)
        var fakes: [FakeNativeAPI] = []
        var client: PooledHTTPClient?
        do {
            for app in apps {
                guard let port = URLComponents(string: federation.simURL(app))?.port else {
                    throw HarnessError("bench.port", "cannot read the API port of \(app) from \(federation.simURL(app))")
                }
                let fake = FakeNativeAPI(app: app, port: port, recorder: recorder)
                fakes.append(fake)
                try await fake.start()
            }
            try await federation.importContacts()
            for app in apps {
                try await waitUntilAnswers("\(federation.simURL(app))/healthz", federation: federation)
                try await federation.grantConsent(app, users: users)
            }
            for app in apps { try federation.node(app).start() }
            for app in apps { try await federation.waitForHTTP("\(federation.nodeURL(app))/readyz", process: federation.node(app)) }
            if options.users != nil {
                // Known users: every one has consent, contacts and keys, as after a bulk onboarding.
                let issueStart = benchNow()
                for app in apps { try await federation.issueKeys(app, users: users) }
                say(String(format: "  keys issued to %d users per app in %.1f s", users, Double(benchNow() - issueStart) / 1e9))
            }
            say("  nodes up: " + apps.map { "\($0) pid \(federation.node($0).pid.map(String.init) ?? "?")" }.joined(separator: ", ")
                + "; \(users) users per app, \(conversations.count) conversations")

            let http = PooledHTTPClient(maxConnectionsPerOrigin: max(64, options.concurrency * 2))
            client = http
            let generator = LoadGenerator(http: http, url: "\(federation.nodeURL("whatsapp"))/webhooks/\(wa.tenant)",
                                          conversations: conversations, size: options.size, batch: options.batch,
                                          recorder: recorder, runTag: String(UInt32.random(in: 0...UInt32.max), radix: 36))

            // Warm-up: one message per conversation, so key fetches and first connections are out of the numbers.
            let warmStart = benchNow()
            try await generator.warmUp(phase: 0)
            try await drain(recorder, phase: 0, timeout: max(options.drainTimeout, 30))
            say(String(format: "  warm-up: %d messages delivered in %.1f s", recorder.snapshot(phase: 0).arrived, Double(benchNow() - warmStart) / 1e9))

            let offeredCPUBefore = apps.map { app in federation.node(app).pid.flatMap(Self.cpuSeconds) ?? 0 }.reduce(0, +)
            let writesBeforeOffered = await storeCounters(apps, of: federation)
            let offeredStart = benchNow()
            var outage: (result: BenchOutage, restartedAt: UInt64)?
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await generator.fixedRate(options.rate, duration: options.duration, phase: 1) }
                if options.outage > 0 {
                    outage = try await takeDown(dests, of: federation, for: options.outage, after: options.duration / 4,
                                                generator: generator, recorder: recorder)
                }
                try await group.waitForAll()
            }
            let offeredSendSeconds = Double(benchNow() - offeredStart) / 1e9
            try await drain(recorder, phase: 1, timeout: options.drainTimeout)
            if var o = outage?.result, let restartedAt = outage?.restartedAt {
                o.drainSeconds = Double(benchNow() - restartedAt) / 1e9
                outage?.result = o
                say(String(format: "  outage of %.1f s: sender RSS %.1f → max %.1f MiB; %d undelivered at recovery, %d webhooks pushed back (503); drained %.1f s after the peer returned",
                           o.seconds, o.rssBeforeMiB, o.rssMaxMiB, o.undeliveredAtRecovery, o.pushedBack, o.drainSeconds))
            }

            let cpuBefore = apps.map { app in federation.node(app).pid.flatMap(Self.cpuSeconds) ?? 0 }
            let benchCPUBefore = Self.cpuSeconds(pid: getpid()) ?? 0
            let diskBefore = apps.map { app in federation.node(app).pid.flatMap(Self.writtenBytes) ?? 0 }
            let machineBefore = MachineIdle.Reading.now()
            let writesBeforeSaturation = await storeCounters(apps, of: federation)
            let offeredCPU = (cpuBefore.reduce(0, +) - offeredCPUBefore) * 1000 / Double(max(1, recorder.snapshot(phase: 1).arrived))
            let destinationFakes = fakes.filter { dests.contains($0.app) }
            let nativeSendsBefore = destinationFakes.map(\.messagesReceived).reduce(0, +)
            let saturationStart = benchNow()
            try await generator.saturate(concurrency: options.concurrency, window: options.window, duration: options.duration, phase: 2)
            let saturationSendSeconds = Double(benchNow() - saturationStart) / 1e9
            try await drain(recorder, phase: 2, timeout: options.drainTimeout)
            let saturationWall = Double(benchNow() - saturationStart) / 1e9
            let cpuAfter = apps.map { app in federation.node(app).pid.flatMap(Self.cpuSeconds) ?? 0 }
            let benchCPUAfter = Self.cpuSeconds(pid: getpid()) ?? 0
            let diskAfter = apps.map { app in federation.node(app).pid.flatMap(Self.writtenBytes) ?? 0 }
            let machineAfter = MachineIdle.Reading.now()
            let writesAfterSaturation = await storeCounters(apps, of: federation)
            let deliveredAtSaturation = max(1, recorder.snapshot(phase: 2).arrived)
            let nativeSends = destinationFakes.map(\.messagesReceived).reduce(0, +) - nativeSendsBefore
            var cpuPerMessage: [String: Double] = [:], cpuCores: [String: Double] = [:], diskPerMessage: [String: Double] = [:]
            var storeWrites: [String: BenchStoreWrites] = [:]
            for (i, app) in apps.enumerated() {
                if let start = writesBeforeOffered[app], let middle = writesBeforeSaturation[app], let end = writesAfterSaturation[app] {
                    storeWrites[app] = BenchStoreWrites(
                        offered: middle.perMessage(since: start, messages: recorder.snapshot(phase: 1).arrived),
                        saturation: end.perMessage(since: middle, messages: deliveredAtSaturation))
                }
                cpuPerMessage[app] = (cpuAfter[i] - cpuBefore[i]) * 1000 / Double(deliveredAtSaturation)
                cpuCores[app] = (cpuAfter[i] - cpuBefore[i]) / saturationWall
                diskPerMessage[app] = Double(diskAfter[i] &- diskBefore[i]) / 1024 / Double(deliveredAtSaturation)
            }
            let machineIdle = machineBefore.flatMap { before in machineAfter.map { MachineIdle(from: before, to: $0) } }
                ?? MachineIdle(idleShare: 0, ioWaitShare: 0)

            var rss: [String: Double] = [:]
            for app in apps {
                if let pid = federation.node(app).pid, let kb = Self.peakRSSKiB(pid: pid) { rss[app] = Double(kb) / 1024 }
            }
            await http.shutdown()
            client = nil
            await stopAll(federation, fakes)

            let raw = try BenchRawCosts.measure(size: options.size, rowBytes: options.size + 160, batch: options.batch, directory: workDirectory)
            return BenchResult(
                options: options, users: users, apps: apps,
                offered: Self.phaseResult("offered \(Int(options.rate)) msg/s", recorder.snapshot(phase: 1), sendSeconds: offeredSendSeconds),
                saturation: Self.phaseResult("saturation", recorder.snapshot(phase: 2), sendSeconds: saturationSendSeconds),
                peakRSS: rss, raw: raw, duplicates: recorder.duplicates, cpuMsPerMessage: cpuPerMessage, cpuCores: cpuCores,
                offeredCPUMsPerMessage: offeredCPU,
                benchCPUMsPerMessage: (benchCPUAfter - benchCPUBefore) * 1000 / Double(deliveredAtSaturation),
                machineIdle: machineIdle, diskKiBPerMessage: diskPerMessage, storeWrites: storeWrites,
                nativeSendsPerMessage: Double(nativeSends) / Double(deliveredAtSaturation),
                outage: outage?.result)
        } catch {
            if let client { await client.shutdown() }
            await stopAll(federation, fakes)
            throw error
        }
    }

    /// Stops the destination nodes `after` seconds, samples the sender's memory while they are down, restarts them.
    /// Returns what it saw and when the nodes were back (the caller measures the drain from there).
    func takeDown(_ apps: [String], of federation: Federation, for seconds: Double, after delay: Double,
                  generator: LoadGenerator, recorder: BenchRecorder) async throws -> (result: BenchOutage, restartedAt: UInt64) {
        try await Task.sleep(for: .seconds(delay))
        let sender = federation.node("whatsapp").pid
        func rssMiB() -> Double { sender.flatMap(Self.currentRSSKiB).map { Double($0) / 1024 } ?? 0 }
        let before = rssMiB()
        let pushedBefore = generator.pushedBack
        for app in apps { await federation.node(app).stop() }
        say(String(format: "  outage: %@ down for %.1f s", apps.joined(separator: ", "), seconds))
        var maxRSS = before
        let end = benchNow() + UInt64(seconds * 1e9)
        while benchNow() < end {
            try await Task.sleep(for: .milliseconds(200))
            maxRSS = max(maxRSS, rssMiB())
        }
        let undelivered = recorder.outstanding(phase: 1)
        for app in apps { try await federation.restartNode(app) }
        return (BenchOutage(seconds: seconds, rssBeforeMiB: before, rssMaxMiB: maxRSS, undeliveredAtRecovery: undelivered,
                            pushedBack: generator.pushedBack - pushedBefore, drainSeconds: 0), benchNow())
    }

    func stopAll(_ federation: Federation, _ fakes: [FakeNativeAPI]) async {
        await federation.stop()
        for fake in fakes { await fake.stop() }
    }

    /// Each node's store counters from its `/metrics`; a node that does not answer is left out.
    func storeCounters(_ apps: [String], of federation: Federation) async -> [String: BenchStoreWrites.Amounts] {
        var counters: [String: BenchStoreWrites.Amounts] = [:]
        for app in apps {
            guard let (status, body) = try? await federation.getFromNode(app, "/metrics"), status == 200 else { continue }
            counters[app] = BenchStoreWrites.Amounts(prometheusText: String(buffer: body))
        }
        return counters
    }

    func waitUntilAnswers(_ url: String, federation: Federation) async throws {
        try await eventually("fake API \(url)", timeout: .seconds(10), every: .milliseconds(20)) { () async -> Bool? in
            var request = HTTPClientRequest(url: url)
            request.method = .GET
            guard let response = try? await federation.http.execute(request, timeout: .seconds(2)) else { return nil }
            _ = try? await response.body.collect(upTo: 1 << 16)
            return response.status.code == 200 ? true : nil
        }
    }

    /// Waits until everything sent in `phase` arrived or was refused (or `timeout` seconds passed: the rest is lost).
    /// Waits until every message of the phase arrived, or nothing arrived for `timeout` seconds (then says so: the
    /// next phase would otherwise measure this one's backlog).
    func drain(_ recorder: BenchRecorder, phase: Int, timeout: Double) async throws {
        var outstanding = recorder.outstanding(phase: phase)
        var deadline = benchNow() + UInt64(timeout * 1e9)
        while outstanding > 0 {
            if benchNow() >= deadline {
                say("  warning: \(outstanding) message(s) of this phase still undelivered after \(Int(timeout)) s without progress")
                return
            }
            try await Task.sleep(for: .milliseconds(10))
            let now = recorder.outstanding(phase: phase)
            if now != outstanding {
                outstanding = now
                deadline = benchNow() + UInt64(timeout * 1e9)
            }
        }
    }

    static func phaseResult(_ name: String, _ s: BenchRecorder.PhaseState, sendSeconds: Double) -> BenchPhaseResult {
        func ms(_ p: Double) -> Double { s.arrived == 0 ? 0 : Double(s.histogram.valueAtPercentile(p)) / 1000 }
        let span = s.arrived > 0 && s.lastArrival > s.firstSend ? Double(s.lastArrival - s.firstSend) / 1e9 : 0
        return BenchPhaseResult(
            name: name, sent: s.sentCount, delivered: s.arrived, rejected: s.rejected,
            messagesPerSecond: span > 0 ? Double(s.arrived) / span : 0,
            ingestPerSecond: sendSeconds > 0 ? Double(s.sentCount - s.rejected) / sendSeconds : 0,
            latency: BenchLatency(p50: ms(50), p90: ms(90), p99: ms(99), p999: ms(99.9),
                                  max: s.arrived == 0 ? 0 : Double(s.histogram.max) / 1000, count: s.arrived))
    }

    /// utime + stime of a process, seconds (from /proc/<pid>/stat, fields 14 and 15, in clock ticks).
    public static func cpuSeconds(pid: Int32) -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return nil }
        // Fields after the command name start at field 3 (state).
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        return (user + system) / (ticks > 0 ? ticks : 100)
    }

    /// Bytes a process caused to be written to storage so far (`write_bytes` of /proc/<pid>/io).
    public static func writtenBytes(pid: Int32) -> UInt64? { procField("write_bytes:", file: "io", pid: pid) }

    /// VmRSS of a process, KiB.
    public static func currentRSSKiB(pid: Int32) -> Int? { procField("VmRSS:", file: "status", pid: pid) }

    /// VmHWM (peak resident set) of a process, KiB.
    public static func peakRSSKiB(pid: Int32) -> Int? { procField("VmHWM:", file: "status", pid: pid) }

    /// The number after `name` on its line of /proc/<pid>/`file` (`status`: a `kB` figure; `io`: bytes).
    static func procField<Number: FixedWidthInteger>(_ name: String, file: String, pid: Int32) -> Number? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/\(file)", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(name) {
            return Number(line.dropFirst(name.count).trimmingCharacters(in: .whitespaces).split(separator: " ").first ?? "")
        }
        return nil
    }
}

/// Posts native WhatsApp webhooks (several messages per POST, signed like Meta signs them) to a node.
final class LoadGenerator: Sendable {
    let http: PooledHTTPClient
    let url: String
    let conversations: [BenchRun.Conversation]
    let filler: String
    let batch: Int
    let recorder: BenchRecorder
    let runTag: String
    private let nextSeq = Atomic<Int>(0)
    private let pushedBackCount = Atomic<Int>(0)
    private let secret = Array(Federation.appSecret.utf8)

    /// POSTs the node answered 503 (it pushed back; the POST was redelivered later, as the apps do).
    var pushedBack: Int { pushedBackCount.load(ordering: .relaxed) }

    init(http: PooledHTTPClient, url: String, conversations: [BenchRun.Conversation], size: Int, batch: Int, recorder: BenchRecorder, runTag: String) {
        self.http = http
        self.url = url
        self.conversations = conversations
        self.filler = Self.filler(count: size - 10)
        self.batch = batch
        self.recorder = recorder
        self.runTag = runTag
    }

    /// `count` characters of 9-letter words, ending in a space: text as the apps' splitters see it, which break
    /// long texts between words (so the sequence number after it is never cut in two).
    static func filler(count: Int) -> String {
        guard count > 0 else { return "" }
        var words = String(repeating: "xxxxxxxxx ", count: count / 10 + 1).prefix(count - 1)
        if words.last == " " { words = words.dropLast() + "x" }
        return String(words) + " "
    }

    /// The next `count` sequence numbers; sequence s belongs to conversation s mod N (in order within it).
    func take(_ count: Int) -> [Int] {
        let first = nextSeq.wrappingAdd(count, ordering: .relaxed).oldValue
        return Array(first..<first + count)
    }

    /// One webhook body: an entry whose changes each carry one conversation's messages.
    func body(_ seqs: [Int]) -> [UInt8] {
        var groups: [Int: [Int]] = [:]
        var order: [Int] = []
        for s in seqs {
            let c = s % conversations.count
            if groups[c] == nil { order.append(c) }
            groups[c, default: []].append(s)
        }
        let ts = String(Int(Date().timeIntervalSince1970))
        var changes: [String] = []
        for c in order {
            let conv = conversations[c]
            let messages = groups[c]!.map { s in
                let text = filler + "PB" + String(format: "%08d", s)
                return #"{"from":"\#(conv.from)","id":"wamid.bench.\#(runTag).\#(s)","timestamp":"\#(ts)","type":"text","text":{"body":"\#(text)"}}"#
            }
            changes.append(#"{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550000000","phone_number_id":"\#(conv.account)"},"contacts":[{"profile":{"name":"Bench \#(conv.from)"},"wa_id":"\#(conv.from)"}],"messages":[\#(messages.joined(separator: ","))]},"field":"messages"}"#)
        }
        return Array(#"{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[\#(changes.joined(separator: ","))]}]}"#.utf8)
    }

    /// Posts one batch as the apps do: a 5xx or 429 (the node pushing back, or down) is redelivered after its
    /// Retry-After (else 200 ms doubling to 2 s) for up to `redeliverFor`; latency counts from the first POST.
    /// Returns whether the node accepted it; a 4xx or giving up counts the messages as refused.
    @discardableResult
    func post(_ seqs: [Int], phase: Int, redeliverFor: Duration = .seconds(120)) async -> Bool {
        let bytes = body(seqs)
        let headers: HTTPHeaders = [
            "Content-Type": "application/json",
            "X-Hub-Signature-256": "sha256=" + Hex.encode(Hashing.hmacSHA256(key: secret, message: bytes)),
        ]
        recorder.sent(seqs, at: benchNow(), phase: phase)
        let giveUp = ContinuousClock.now + redeliverFor
        var backoff = Duration.milliseconds(200)
        while true {
            var wait = backoff
            do {
                let response = try await http.execute(.POST, url: url, headers: headers, body: bytes, timeout: .seconds(60), maxBodyBytes: 1 << 16)
                let code = response.status
                if code == 200 { return true }
                guard code >= 500 || code == 429 else { break }
                if code == 503 { pushedBackCount.wrappingAdd(1, ordering: .relaxed) }
                if let seconds = response.headers.first(name: "Retry-After").flatMap(Int.init) { wait = .seconds(seconds) }
            } catch {}
            guard ContinuousClock.now + wait < giveUp else { break }
            try? await Task.sleep(for: wait)
            backoff = min(backoff * 2, .seconds(2))
        }
        recorder.rejected(seqs, phase: phase)
        return false
    }

    /// One message per conversation, `batch` per POST, a few POSTs at a time.
    func warmUp(phase: Int) async throws {
        let seqs = take(conversations.count)
        var chunks = stride(from: 0, to: seqs.count, by: batch).map { Array(seqs[$0..<min($0 + batch, seqs.count)]) }[...]
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                guard let chunk = chunks.popFirst() else { break }
                group.addTask { await self.post(chunk, phase: phase) }
            }
            while await group.next() != nil {
                guard let chunk = chunks.popFirst() else { continue }
                group.addTask { await self.post(chunk, phase: phase) }
            }
        }
    }

    /// Open loop: a POST of `batch` messages every batch/rate seconds, each on its own task (no waiting for answers).
    func fixedRate(_ rate: Double, duration: Double, phase: Int) async throws {
        let interval = UInt64(Double(batch) / rate * 1e9)
        let start = benchNow()
        let end = start + UInt64(duration * 1e9)
        await withTaskGroup(of: Void.self) { group in
            var k: UInt64 = 0
            while true {
                let due = start + k * interval
                if due >= end { break }
                let now = benchNow()
                if due > now { try? await Task.sleep(for: .nanoseconds(Int(due - now))) }
                let seqs = take(batch)
                group.addTask { await self.post(seqs, phase: phase) }
                k += 1
            }
        }
    }

    /// Closed loop: `concurrency` posters as fast as the node answers, never more than `window` messages undelivered.
    func saturate(concurrency: Int, window: Int, duration: Double, phase: Int) async throws {
        let end = benchNow() + UInt64(duration * 1e9)
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    while benchNow() < end {
                        if self.recorder.outstanding(phase: phase) >= window {
                            try? await Task.sleep(for: .milliseconds(1))
                            continue
                        }
                        if await !self.post(self.take(self.batch), phase: phase) {
                            try? await Task.sleep(for: .milliseconds(5))
                        }
                    }
                }
            }
        }
    }
}
