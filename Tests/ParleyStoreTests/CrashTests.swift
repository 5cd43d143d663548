import Foundation
import Testing
@testable import ParleyStore

// Linux only: the child is found through /proc/self/exe and spawned with Glibc's posix_spawn.
#if os(Linux)
import Glibc

/// Durability of acknowledged writes across SIGKILL, with a real child process.
///
/// The parent re-launches this test binary (`/proc/self/exe`) running only ``crashWriterChild()``, with
/// `PARLEY_STORE_CRASH_CHILD_DB` naming the store file. The child ingests events through the group committer from
/// several tasks and prints `ACK <n>` only after the commit holding event n returned. The parent kills the child
/// with SIGKILL once it has read a fixed number of acknowledgements (a count, not a timer), reaps it, reopens the
/// file and checks that every acknowledged event is there.
@Suite struct CrashTests {
    static let childVariable = "PARLEY_STORE_CRASH_CHILD_DB"
    static let childTestName = "crashWriterChild"
    static let acksBeforeKill = 300

    /// The writer half. Without the environment variable (a normal test run) it only says so.
    @Test func crashWriterChild() async throws {
        guard let path = ProcessInfo.processInfo.environment[Self.childVariable] else {
            print("crashWriterChild: not launched by acknowledgedWritesSurviveSigkill (\(Self.childVariable) unset); nothing to do")
            return
        }
        let store = try ParleyStore(path: path)
        let committer = IngressCommitter(store: store, maxBatch: 64)
        // Writes until killed; the bound only stops a child that was somehow left running.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for lane in 0..<4 {
                group.addTask {
                    for n in stride(from: lane, to: 400_000, by: 4) {
                        let result = try await committer.ingest(
                            event("evt-\(n)", envelopes: [envelope(n, conversation: "conv-\(n % 7)")]))
                        if !result.duplicate { Self.writeLine("ACK \(n)") }
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    static func writeLine(_ line: String) {
        let bytes = Array((line + "\n").utf8)
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(1, buffer.baseAddress! + offset, buffer.count - offset)
                if written <= 0 { return }
                offset += written
            }
        }
    }

    @Test func acknowledgedWritesSurviveSigkill() async throws {
        // This binary is run as `<bundle> [--testing-library swift-testing] [options…]`; the child needs only the
        // library selector and a filter for the writer test (no event-stream or xunit paths of the parent's).
        let arguments = CommandLine.arguments
        print("crash test: parent invoked as \(arguments)")
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? arguments[0]
        var childArguments = [executable]
        if let index = arguments.firstIndex(of: "--testing-library"), index + 1 < arguments.count {
            childArguments += ["--testing-library", arguments[index + 1]]
        } else {
            childArguments += ["--testing-library", "swift-testing"]
        }
        childArguments += ["--filter", Self.childTestName]

        let dir = try TempDir()
        let dbPath = dir.path("crash.sqlite")
        let errPath = dir.path("child-stderr.txt")
        var environment = ProcessInfo.processInfo.environment
        environment[Self.childVariable] = dbPath

        let child = try ChildProcess(arguments: childArguments, environment: environment, stderrPath: errPath)
        defer { child.killAndReap() }

        var acknowledged: [Int] = []
        var killed = false
        var buffer = Data()
        readLoop: while true {
            guard let chunk = try child.readStdout(timeoutSeconds: 300) else { break readLoop }  // EOF
            buffer.append(chunk)
            while let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self)
                buffer.removeSubrange(buffer.startIndex...newline)
                if line.hasPrefix("ACK "), let n = Int(line.dropFirst(4)) { acknowledged.append(n) }
            }
            if !killed && acknowledged.count >= Self.acksBeforeKill {
                child.kill()  // mid-stream: the child is still writing
                killed = true
            }
        }
        let status = child.killAndReap()
        let childErrors = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
        #expect(killed, "child stopped after \(acknowledged.count) acks without being killed; stderr:\n\(childErrors)")
        #expect(status.signal == SIGKILL, "child exit status \(status); stderr:\n\(childErrors)")
        #expect(acknowledged.count >= Self.acksBeforeKill)

        print("crash test: child \(status) after \(acknowledged.count) acknowledged events")

        let store = try ParleyStore(path: dbPath)
        defer { try? store.close() }
        #expect(try await store.scalarTexts("PRAGMA integrity_check") == ["ok"])
        var missing: [Int] = []
        for n in acknowledged {
            let entry = try await store.outboxEntry(tenant: "a.example", envelopeId: envelopeId(n))
            if entry?.item.sealed != sealed(n) { missing.append(n) }
        }
        #expect(missing.isEmpty, "acknowledged but missing after SIGKILL: \(missing.prefix(20))")
        // The dedup keys survived too: re-delivering an acknowledged webhook is recognised.
        if let n = acknowledged.last {
            #expect(try await store.ingest(event("evt-\(n)", envelopes: [envelope(n)])).duplicate)
        }
    }
}

/// A child process with its stdout on a pipe, started with posix_spawn. Not thread-safe; one test owns it.
final class ChildProcess {
    struct Status: CustomStringConvertible {
        var raw: Int32
        /// The terminating signal, or nil if the child exited normally.
        var signal: Int32? { let s = raw & 0x7f; return (s != 0 && s != 0x7f) ? s : nil }
        var exitCode: Int32? { signal == nil ? (raw >> 8) & 0xff : nil }
        var description: String { signal.map { "killed by signal \($0)" } ?? "exit code \(exitCode ?? -1)" }
    }

    let pid: pid_t
    private let stdoutFd: Int32
    private var reaped: Status?

    init(arguments: [String], environment: [String: String], stderrPath: String) throws {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw ChildError("pipe failed: errno \(errno)") }
        // Close-on-exec so other children spawned by concurrent tests do not hold our pipe open (dup2 clears it on
        // the child's fd 1).
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)

        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, arguments[0], &actions, nil, argv, envp)
        close(fds[1])
        guard rc == 0 else {
            close(fds[0])
            throw ChildError("posix_spawn \(arguments[0]) failed: \(String(cString: strerror(rc)))")
        }
        self.pid = pid
        self.stdoutFd = fds[0]
    }

    /// The next bytes of the child's stdout, or nil at end of file.
    func readStdout(timeoutSeconds: Int32) throws -> Data? {
        var poller = pollfd(fd: stdoutFd, events: Int16(POLLIN), revents: 0)
        let ready = poll(&poller, 1, timeoutSeconds * 1000)
        // A safety net against a hung child, not a timing assumption: normal runs never come near it.
        guard ready > 0 else { throw ChildError("child produced no output for \(timeoutSeconds)s") }
        var bytes = [UInt8](repeating: 0, count: 4096)
        let count = read(stdoutFd, &bytes, bytes.count)
        if count < 0 { throw ChildError("read from child failed: errno \(errno)") }
        return count == 0 ? nil : Data(bytes[0..<count])
    }

    func kill() {
        if reaped == nil { _ = Glibc.kill(pid, SIGKILL) }
    }

    /// Kills the child if it still runs, waits for it, closes the pipe. Idempotent.
    @discardableResult
    func killAndReap() -> Status {
        if let reaped { return reaped }
        _ = Glibc.kill(pid, SIGKILL)
        var raw: Int32 = 0
        while waitpid(pid, &raw, 0) < 0 && errno == EINTR {}
        close(stdoutFd)
        let status = Status(raw: raw)
        reaped = status
        return status
    }
}

struct ChildError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
#endif
