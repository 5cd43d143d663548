import Foundation
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A child process the harness started and must stop: output goes to a log file, stop is SIGTERM then SIGKILL.
public final class ManagedProcess: Sendable {
    public let name: String
    public let arguments: [String]
    public let logPath: String
    private let process: Mutex<Process?>
    private let executable: String
    private let environment: [String: String]

    public init(name: String, executable: String, arguments: [String], logPath: String, environment: [String: String] = [:]) {
        self.name = name
        self.executable = executable
        self.arguments = arguments
        self.logPath = logPath
        self.environment = environment
        self.process = Mutex(nil)
    }

    public var pid: Int32? { process.withLock { $0?.isRunning == true ? $0?.processIdentifier : nil } }
    public var isRunning: Bool { process.withLock { $0?.isRunning ?? false } }

    /// Starts (or restarts) the process, appending to its log.
    public func start() throws {
        try process.withLock { current in
            if let current, current.isRunning { return }
            if !FileManager.default.fileExists(atPath: logPath) {
                _ = FileManager.default.createFile(atPath: logPath, contents: nil)
            }
            guard let log = FileHandle(forWritingAtPath: logPath) else {
                throw HarnessError("harness.log", "cannot open log file \(logPath)")
            }
            log.seekToEndOfFile()
            let p = Process()
            p.executableURL = URL(fileURLWithPath: executable)
            p.arguments = arguments
            var env = ProcessInfo.processInfo.environment
            for (k, v) in environment { env[k] = v }
            p.environment = env
            p.standardOutput = log
            p.standardError = log
            p.standardInput = FileHandle.nullDevice
            try p.run()
            current = p
        }
    }

    /// Sends `signal` without waiting.
    public func signal(_ signal: Int32) {
        process.withLock { p in
            guard let p, p.isRunning else { return }
            kill(p.processIdentifier, signal)
        }
    }

    /// SIGKILL and reap: the crash case.
    public func killHard() {
        let p = process.withLock { $0 }
        guard let p, p.isRunning else { return }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
    }

    /// Waits for the process to exit by itself (up to `timeout`, then SIGKILL); returns its exit status.
    public func waitForExit(timeout: Duration) async -> Int32? {
        let p = process.withLock { $0 }
        guard let p else { return nil }
        let deadline = ContinuousClock.now + timeout
        while p.isRunning, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        if p.isRunning {
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            return nil
        }
        p.waitUntilExit()
        return p.terminationStatus
    }

    /// SIGTERM, wait up to `grace`, then SIGKILL. Returns the exit status when it exited by itself.
    @discardableResult
    public func stop(grace: Duration = .seconds(10)) async -> Int32? {
        let p = process.withLock { $0 }
        guard let p else { return nil }
        if p.isRunning {
            kill(p.processIdentifier, SIGTERM)
            let deadline = ContinuousClock.now + grace
            while p.isRunning, ContinuousClock.now < deadline {
                try? await Task.sleep(for: .milliseconds(50))
            }
            if p.isRunning {
                kill(p.processIdentifier, SIGKILL)
                p.waitUntilExit()
                return nil
            }
        }
        p.waitUntilExit()
        return p.terminationStatus
    }

    /// The last `lines` lines of the log, for failure messages.
    public func tail(_ lines: Int = 30) -> String {
        guard let data = FileManager.default.contents(atPath: logPath), let text = String(data: data, encoding: .utf8) else { return "" }
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }

    deinit {
        // Last resort: never leave a child behind, even when a test failed before calling stop().
        if let p = process.withLock({ $0 }), p.isRunning {
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
        }
    }
}

/// A harness failure with a stable code.
public struct HarnessError: Error, Sendable, CustomStringConvertible {
    public var code: String
    public var message: String
    public init(_ code: String, _ message: String) {
        self.code = code
        self.message = message
    }
    public var description: String { "\(message) [\(code)]" }
}

/// Free TCP ports on 127.0.0.1, found by binding port 0.
public enum FreePort {
    public static func next() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("harness.port", "socket() failed") }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw HarnessError("harness.port", "bind() failed") }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        guard named == 0 else { throw HarnessError("harness.port", "getsockname() failed") }
        return Int(UInt16(bigEndian: addr.sin_port))
    }
}
