import Foundation
import Synchronization

/// An adapter running as a child process that speaks the framed protocol of docs/ABI.md on its stdin/stdout.
///
/// Calls are synchronous (like every ``Adapter``) and serialized: each one blocks its thread for at most
/// ``callTimeout``. A child that crashes, hangs, or breaks the protocol costs only the call in flight, which
/// fails with ``AdapterError/Code/internalFailure`` (the host keeps its message and may retry); the child is
/// killed and restarted on the next call, with exponential backoff while it keeps failing.
public final class ChildProcessAdapter: Adapter {
    /// How long to wait before restarting a child that failed `n` times in a row: `initialDelay · 2^(n-1)`,
    /// capped at `maxDelay`. A call never waits longer than its own timeout for a restart: it fails instead.
    public struct RestartPolicy: Sendable, Hashable {
        public var initialDelay: Duration
        public var maxDelay: Duration

        public init(initialDelay: Duration = .milliseconds(50), maxDelay: Duration = .seconds(5)) {
            self.initialDelay = initialDelay
            self.maxDelay = maxDelay
        }

        func delay(afterFailures n: Int) -> Duration {
            guard n > 0 else { return .zero }
            var d = initialDelay
            for _ in 1..<min(n, 32) where d < maxDelay { d = d * 2 }
            return min(d, maxDelay)
        }
    }

    public let name: String
    public let capabilities: AdapterCapabilities
    /// The ABI version the child answered the handshake with (one of ``parleyABIVersions``); a restarted child
    /// must answer the same.
    public let abiVersion: UInt32
    /// The program and its arguments; the program is looked up in `PATH` when it has no slash.
    public let command: [String]
    public let callTimeout: Duration
    /// How long a (re)started child may take to answer the handshake.
    public let startupTimeout: Duration
    public let restartPolicy: RestartPolicy

    private struct Child {
        var pid: pid_t
        var fd: Int32
    }

    private struct State {
        var child: Child?
        var nextRequestID: UInt32 = 1
        var consecutiveFailures = 0
        var restartNotBefore: ContinuousClock.Instant?
        var restarts = 0
    }

    private let state: Mutex<State>

    /// Starts the child and completes the handshake.
    /// - Throws: ``AdapterLoadError`` with `.launchFailed` (cannot start, no or bad handshake) or `.abiMismatch`.
    public init(
        command: [String], callTimeout: Duration = .seconds(10), startupTimeout: Duration = .seconds(10),
        restartPolicy: RestartPolicy = .init()
    ) throws(AdapterLoadError) {
        guard let program = command.first, !program.isEmpty else {
            throw AdapterLoadError(.launchFailed, "the adapter command is empty")
        }
        self.command = command
        self.callTimeout = callTimeout
        self.startupTimeout = startupTimeout
        self.restartPolicy = restartPolicy
        let child: Child
        do {
            child = try Self.spawn(command)
        } catch {
            throw AdapterLoadError(.launchFailed, "adapter command \(command.joined(separator: " ")): \(error.message)")
        }
        let hello: AdapterHello
        do {
            var id: UInt32 = 1
            hello = try Self.handshake(child, id: &id, timeout: startupTimeout, command: command)
        } catch {
            Self.kill(child)
            throw AdapterLoadError(.launchFailed, "adapter command \(command.joined(separator: " ")): \(error.message)")
        }
        guard parleyABIVersions.contains(hello.abiVersion) else {
            Self.kill(child)
            throw AdapterLoadError(.abiMismatch,
                                   "adapter command \(program) speaks adapter ABI version \(hello.abiVersion) but this host speaks \(AdapterLoader.describe(parleyABIVersions))")
        }
        self.abiVersion = hello.abiVersion
        self.name = hello.name
        self.capabilities = hello.capabilities
        self.state = Mutex(State(child: child, nextRequestID: 2))
    }

    deinit {
        terminate()
    }

    /// The running child's process id, if one is running.
    public var processID: Int32? { state.withLock { $0.child?.pid } }

    /// How many times the child was restarted after a failure.
    public var restartCount: Int { state.withLock { $0.restarts } }

    /// Stops the child (if running). A later call starts a new one.
    public func terminate() {
        state.withLock { s in
            if let child = s.child { Self.kill(child) }
            s.child = nil
        }
    }

    public func decode(_ payload: [UInt8]) throws(AdapterError) -> [BridgeEvent] {
        let body = try call(.decode, payload, what: "decode")
        return try ABICoding.decode([BridgeEvent].self, from: body, what: "event list")
    }

    public func encode(_ event: BridgeEvent) throws(AdapterError) -> [NativeRequest] {
        let body = try call(.encode, try ABICoding.encode(event), what: "encode")
        return try ABICoding.decode([NativeRequest].self, from: body, what: "request list")
    }

    public func decodeSendResponse(status: Int, body: [UInt8]) throws(AdapterError) -> SendOutcome {
        var input: [UInt8] = []
        input.appendBigEndian(UInt32(bitPattern: Int32(clamping: status)))
        input.append(contentsOf: body)
        let answer = try call(.decodeSendResponse, input, what: "decode_send_response")
        return try ABICoding.decode(SendOutcome.self, from: answer, what: "send outcome")
    }

    // MARK: - Calls

    private func call(_ op: ChildFrame.Op, _ body: [UInt8], what: String) throws(AdapterError) -> [UInt8] {
        try state.withLock { (s: inout State) throws(AdapterError) -> [UInt8] in
            let child = try ensureRunning(&s)
            let id = s.nextRequestID
            s.nextRequestID &+= 1
            if s.nextRequestID == 0 { s.nextRequestID = 1 }
            let reply: ChildFrame
            do throws(AdapterError) {
                reply = try Self.exchange(child, ChildFrame(id: id, op: op, body: body), timeout: callTimeout)
            } catch {
                fail(&s, child)
                throw AdapterError(.internalFailure, "child adapter \(name) failed during \(what): \(error.message)")
            }
            s.consecutiveFailures = 0
            switch ChildFrame.Op(rawValue: reply.op) {
            case .ok: return reply.body
            case .error: throw ABICoding.decodeError(reply.body)
            default:
                fail(&s, child)
                throw AdapterError(.internalFailure, "child adapter \(name) answered with unknown operation \(reply.op)")
            }
        }
    }

    /// Kills a misbehaving child and schedules its restart.
    private func fail(_ s: inout State, _ child: Child) {
        Self.kill(child)
        s.child = nil
        s.consecutiveFailures += 1
        s.restartNotBefore = .now + restartPolicy.delay(afterFailures: s.consecutiveFailures)
    }

    private func ensureRunning(_ s: inout State) throws(AdapterError) -> Child {
        if let child = s.child { return child }
        if let notBefore = s.restartNotBefore {
            let wait = notBefore - .now
            if wait > callTimeout {
                throw AdapterError(.internalFailure,
                                   "child adapter \(name) is restarting after \(s.consecutiveFailures) failures; retry in \(wait)")
            }
            if wait > .zero { Self.sleep(wait) }
        }
        do throws(AdapterError) {
            let child = try Self.spawn(command)
            var id = s.nextRequestID
            let hello: AdapterHello
            do {
                hello = try Self.handshake(child, id: &id, timeout: startupTimeout, command: command)
            } catch {
                Self.kill(child)
                throw error
            }
            s.nextRequestID = id
            guard hello.name == name, hello.abiVersion == abiVersion else {
                Self.kill(child)
                throw AdapterError(.internalFailure,
                                   "the restarted child calls itself \(hello.name) (ABI \(hello.abiVersion)), not \(name) (ABI \(abiVersion))")
            }
            s.child = child
            s.restarts += 1
            return child
        } catch {
            s.consecutiveFailures += 1
            s.restartNotBefore = .now + restartPolicy.delay(afterFailures: s.consecutiveFailures)
            throw AdapterError(.internalFailure, "could not restart child adapter \(name): \(error.message)")
        }
    }

    // MARK: - Process and socket plumbing (POSIX, so a hung child can be abandoned at a deadline)

    /// Says hello and reads who the child is; the caller kills the child when this throws.
    private static func handshake(_ child: Child, id: inout UInt32, timeout: Duration, command: [String])
        throws(AdapterError) -> AdapterHello
    {
        var version: [UInt8] = []
        version.appendBigEndian(parleyABIVersion)
        let reply: ChildFrame
        do {
            reply = try exchange(child, ChildFrame(id: id, op: .hello, body: version), timeout: timeout)
        } catch {
            throw AdapterError(.internalFailure, "no handshake: \(error.message)")
        }
        id &+= 1
        switch ChildFrame.Op(rawValue: reply.op) {
        case .ok: break
        case .error: throw AdapterError(.internalFailure, "handshake refused: \(ABICoding.decodeError(reply.body).message)")
        default:
            throw AdapterError(.internalFailure,
                               "the handshake reply has operation 0x\(String(reply.op, radix: 16)); is this a Parley child adapter?")
        }
        return try ABICoding.decode(AdapterHello.self, from: reply.body, what: "handshake")
    }

    private static func spawn(_ command: [String]) throws(AdapterError) -> Child {
        var fds: [Int32] = [-1, -1]
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        guard socketpair(AF_UNIX, type, 0, &fds) == 0 else {
            throw AdapterError(.internalFailure, "socketpair failed: \(String(cString: strerror(errno)))")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fds[1], 0)
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        let argv: [UnsafeMutablePointer<CChar>?] = command.map { strdup($0) } + [nil]
        defer { for arg in argv { free(arg) } }
        var pid: pid_t = 0
        guard let program = argv[0] else {
            close(fds[0]); close(fds[1])
            throw AdapterError(.internalFailure, "out of memory copying the command line")
        }
        let rc = posix_spawnp(&pid, program, &actions, nil, argv, environ)
        close(fds[1])
        guard rc == 0 else {
            close(fds[0])
            throw AdapterError(.internalFailure, "cannot start \(command[0]): \(String(cString: strerror(rc)))")
        }
        let flags = fcntl(fds[0], F_GETFL)
        _ = fcntl(fds[0], F_SETFL, flags | O_NONBLOCK)
        return Child(pid: pid, fd: fds[0])
    }

    /// Kills and reaps a child; the adapter holds no state worth a graceful shutdown.
    private static func kill(_ child: Child) {
        close(child.fd)
        _ = Glibc.kill(child.pid, SIGKILL)
        var status: Int32 = 0
        while waitpid(child.pid, &status, 0) < 0 && errno == EINTR {}
    }

    private static func sleep(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        var ts = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
        var left = timespec()
        while nanosleep(&ts, &left) < 0 && errno == EINTR { ts = left }
    }

    /// Sends one frame and reads the reply with the same id, all before `timeout` elapses.
    private static func exchange(_ child: Child, _ frame: ChildFrame, timeout: Duration) throws(AdapterError) -> ChildFrame {
        let deadline = ContinuousClock.now + timeout
        try send(child.fd, frame.encoded, deadline: deadline)
        var prefix = [UInt8](repeating: 0, count: 4)
        try receive(child.fd, &prefix, deadline: deadline, child: child)
        let length = ChildFrame.announcedLength(prefix)
        guard length >= 5, length <= ChildFrame.maxLength else {
            throw AdapterError(.internalFailure, "the child wrote something that is not a Parley frame (announced length \(length))")
        }
        var rest = [UInt8](repeating: 0, count: length)
        try receive(child.fd, &rest, deadline: deadline, child: child)
        guard let reply = ChildFrame.parse(rest: rest), reply.id == frame.id else {
            throw AdapterError(.internalFailure, "the child answered a request id it was not asked")
        }
        return reply
    }

    private static func waitFor(_ fd: Int32, events: Int16, deadline: ContinuousClock.Instant) throws(AdapterError) {
        while true {
            let remaining = deadline - .now
            guard remaining > .zero else {
                throw AdapterError(.internalFailure, "no answer within the call timeout")
            }
            let (s, atto) = remaining.components
            let ms = Int32(clamping: s * 1000 + (atto + 999_999_999_999_999) / 1_000_000_000_000_000)
            var pfd = pollfd(fd: fd, events: events, revents: 0)
            let rc = poll(&pfd, 1, ms)
            if rc > 0 { return }
            if rc < 0 && errno != EINTR {
                throw AdapterError(.internalFailure, "poll failed: \(String(cString: strerror(errno)))")
            }
        }
    }

    private static func send(_ fd: Int32, _ bytes: [UInt8], deadline: ContinuousClock.Instant) throws(AdapterError) {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + done, bytes.count - done, Int32(MSG_NOSIGNAL)) }
            if n > 0 { done += n; continue }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                try waitFor(fd, events: Int16(POLLOUT), deadline: deadline)
                continue
            }
            throw AdapterError(.internalFailure, "the child stopped reading (\(String(cString: strerror(errno))))")
        }
    }

    private static func receive(_ fd: Int32, _ buffer: inout [UInt8], deadline: ContinuousClock.Instant, child: Child)
        throws(AdapterError)
    {
        var done = 0
        let total = buffer.count
        while done < total {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress! + done, total - done) }
            if n > 0 { done += n; continue }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                try waitFor(fd, events: Int16(POLLIN), deadline: deadline)
                continue
            }
            throw AdapterError(.internalFailure, "the child process exited (\(exitDescription(child.pid)))")
        }
    }

    /// Says how the child ended, without reaping it (``kill(_:)`` reaps, so its pid cannot be reused meanwhile).
    private static func exitDescription(_ pid: pid_t) -> String {
        // Give a crashing child a moment to finish exiting so the report names the signal.
        for _ in 0..<100 {
            var info = siginfo_t()
            if waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0, info._sifields._kill.si_pid == pid {
                let status = info._sifields._sigchld.si_status
                return info.si_code == Int32(CLD_EXITED) ? "exit status \(status)" : "killed by signal \(status)"
            }
            sleep(.milliseconds(10))
        }
        return "closed its output"
    }
}
