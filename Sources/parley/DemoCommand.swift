import ArgumentParser
import Foundation
import ParleyHarness
import Synchronization

/// `parley demo`: three operators (simulated app + node each) on loopback, a scripted cross-app conversation,
/// every hop printed; exits 0 only if every step was delivered.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run a three-operator federation on loopback and a scripted cross-app conversation.")

    @Option(name: .long, help: "Directory with the demo config templates (default: Config/demo next to the sources or the working directory).")
    var configs: String?

    @Option(name: .long, help: "Where to put data, configs and logs (default: a new temporary directory).")
    var workDir: String?

    @Flag(name: .long, help: "Leave the federation running after the script and print how to talk to it.")
    var keepRunning = false

    @Option(name: .long, help: "Node log level.")
    var logLevel = "notice"

    func run() async throws {
        let templates = try configs ?? Self.findTemplates()
        let work = workDir ?? (NSTemporaryDirectory() + "parley-demo-\(ProcessInfo.processInfo.processIdentifier)")
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        say("Parley demo: three operators, each its own app back-end and bridge node, on loopback")
        say("  work directory: \(work)")
        let federation = try Federation(executable: executable, configDirectory: templates, workDirectory: work, logLevel: logLevel)
        for op in federation.operators {
            say("  \(op.app): \(op.userName) (user \(op.user)) — app sim \(federation.simURL(op.app)), node \(op.domain) \(federation.nodeURL(op.app)), key \(federation.nodeKeys[op.app]!.prefix(12))…")
        }
        let started = ContinuousClock.now
        do {
            try await federation.start()
        } catch {
            await federation.stop()
            throw CLIError("the federation did not start: \(error)")
        }
        say("  all six processes are up (\(started.duration(to: .now))); consent granted for the three users\n")
        let results = await DemoScript(federation: federation).run()
        let failed = results.filter { !$0.delivered }
        let latencies = results.filter(\.delivered).map(\.latencyMs).sorted()
        say("")
        say("\(results.count - failed.count)/\(results.count) steps delivered across \(Set(results.map { "\($0.from)>\($0.to)" }).count) ordered app pairs" +
              (latencies.isEmpty ? "" : "; latency median \(latencies[latencies.count / 2]) ms, max \(latencies.last!) ms"))
        let leaks = ["it's Alice", "it's Bob", "it's Carol"].flatMap { needle in
            federation.operators.flatMap { federation.filesContaining(needle, under: "\($0.app)/node").filter { !$0.hasSuffix(".log") } }
        }
        say(leaks.isEmpty ? "relay check: no plaintext in any node's data directory" : "relay check FAILED: plaintext found in \(leaks)")
        if keepRunning {
            say("\nThe federation keeps running. Try, for example:")
            let wa = federation.op("whatsapp")
            say("  curl -s -X POST \(federation.simURL("whatsapp"))/sim/users/\(wa.user)/send -H 'content-type: application/json' -d '{\"to\":\"\(wa.accounts["messenger"]!)\",\"text\":\"hello\"}'")
            say("  curl -s \(federation.simURL("messenger"))/sim/users/\(federation.op("messenger").user)/mailbox")
            say("  parley status --config \(federation.configPath("whatsapp"))")
            say("Press Ctrl-C to stop.")
            await waitForInterrupt()
        }
        await federation.stop()
        if !failed.isEmpty || !leaks.isEmpty {
            throw ExitCode.failure
        }
    }

    static func findTemplates() throws -> String {
        let candidates = [
            FileManager.default.currentDirectoryPath + "/Config/demo",
            URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path + "/Config/demo",
        ]
        for candidate in candidates where FileManager.default.fileExists(atPath: candidate + "/whatsapp.toml") { return candidate }
        throw CLIError("cannot find Config/demo; run from the repository or pass --configs DIR")
    }

    func waitForInterrupt() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            signal(SIGINT, SIG_IGN)
            signal(SIGTERM, SIG_IGN)
            let sources = [SIGINT, SIGTERM].map { DispatchSource.makeSignalSource(signal: $0, queue: .main) }
            let once = OnceFlag()
            for source in sources {
                source.setEventHandler { if once.fire() { continuation.resume() } }
                source.resume()
            }
        }
    }
}

/// Unbuffered, so the demo's lines interleave in order with the script's.
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// True exactly once.
final class OnceFlag: Sendable {
    private let fired = Mutex(false)
    func fire() -> Bool {
        fired.withLock { fired in
            defer { fired = true }
            return !fired
        }
    }
}
