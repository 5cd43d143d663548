import Foundation
@testable import ParleyKit
import Testing
import ExampleAdapter

/// Child-process failures are staged with a small shell script: on its first launch it answers the handshake
/// with a recorded hello frame, reads one byte of the next request and then crashes or hangs; on later launches
/// it runs the real example child. So each test is deterministic: exactly one call meets the fault.
@Suite struct ChildProcessTests {
    enum Fault: String {
        case crash = "kill -SEGV $$"
        case hang = "exec sleep 600"
        case exit = "exit 3"
    }

    private func stagedChild(_ fault: Fault, in dir: String) throws -> [String] {
        let caps = ExampleAdapter().capabilities
        let hello = ChildFrame(id: 1, op: .ok, body: try ABICoding.encode(AdapterHello(abiVersion: parleyABIVersion, name: "example", capabilities: caps)))
        try Data(hello.encoded).write(to: URL(fileURLWithPath: dir + "/hello.bin"))
        let script = """
            #!/bin/sh
            if [ -e "\(dir)/launched" ]; then exec "\(TestPaths.exampleChild)"; fi
            touch "\(dir)/launched"
            head -c \(ChildFrame.headerSize + 4) >/dev/null
            cat "\(dir)/hello.bin"
            head -c 1 >/dev/null
            \(fault.rawValue)
            """
        let path = dir + "/child.sh"
        try Data(script.utf8).write(to: URL(fileURLWithPath: path))
        return ["/bin/sh", path]
    }

    private func expectFailureThenRecovery(_ fault: Fault, timeout: Duration, mentions: String) throws {
        let dir = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let child = try ChildProcessAdapter(command: try stagedChild(fault, in: dir), callTimeout: timeout,
                                            restartPolicy: .init(initialDelay: .milliseconds(1)))
        defer { child.terminate() }
        let payload = try TestPaths.fixture("text.json")
        do {
            _ = try child.decode(payload)
            Issue.record("the faulty call succeeded")
        } catch {
            #expect(error.code == .internalFailure)
            #expect(error.message.contains(mentions), "\(error.message)")
        }
        #expect(child.processID == nil, "the failed child was stopped")
        let events = try child.decode(payload)
        #expect(events == (try ExampleAdapter().decode(payload)))
        #expect(child.restartCount == 1)
    }

    @Test func aChildThatCrashesMidCallFailsThatCallAndTheNextOneWorks() throws {
        try expectFailureThenRecovery(.crash, timeout: .seconds(20), mentions: "signal 11")
    }

    @Test func aChildThatExitsMidCallFailsThatCallAndTheNextOneWorks() throws {
        try expectFailureThenRecovery(.exit, timeout: .seconds(20), mentions: "exit status 3")
    }

    @Test func aChildThatHangsTimesOutAndTheNextCallWorks() throws {
        try expectFailureThenRecovery(.hang, timeout: .milliseconds(300), mentions: "timeout")
    }

    @Test func aMissingProgramIsALaunchFailure() {
        do {
            _ = try ChildProcessAdapter(command: ["/nonexistent/adapter-binary"])
            Issue.record("a missing program launched")
        } catch {
            #expect(error.code == .launchFailed)
        }
    }

    @Test func aProgramThatIsNotAnAdapterFailsTheHandshake() {
        do {
            _ = try ChildProcessAdapter(command: ["/bin/sh", "-c", "echo hello; exit 0"], startupTimeout: .seconds(20))
            Issue.record("a non-adapter passed the handshake")
        } catch {
            #expect(error.code == .launchFailed)
            #expect(error.message.contains("handshake"))
        }
    }

    @Test func aProgramThatEchoesItsInputIsNotMistakenForAnAdapter() {
        do {
            _ = try ChildProcessAdapter(command: ["/bin/cat"], startupTimeout: .seconds(20))
            Issue.record("cat passed the handshake")
        } catch {
            #expect(error.code == .launchFailed)
            #expect(error.message.contains("is this a Parley child adapter?"))
        }
    }

    @Test func restartDelaysGrowExponentiallyUpToTheCap() {
        let policy = ChildProcessAdapter.RestartPolicy(initialDelay: .milliseconds(50), maxDelay: .milliseconds(300))
        #expect(policy.delay(afterFailures: 0) == .zero)
        #expect(policy.delay(afterFailures: 1) == .milliseconds(50))
        #expect(policy.delay(afterFailures: 2) == .milliseconds(100))
        #expect(policy.delay(afterFailures: 3) == .milliseconds(200))
        #expect(policy.delay(afterFailures: 4) == .milliseconds(300))
        #expect(policy.delay(afterFailures: 1000) == .milliseconds(300))
    }

    @Test func framesRoundTripAndRepliesKeepTheRequestId() throws {
        let frame = ChildFrame(id: 0xDEAD_BEEF, op: .decode, body: [1, 2, 3])
        let bytes = frame.encoded
        #expect(bytes == [0, 0, 0, 8, 0xDE, 0xAD, 0xBE, 0xEF, 0x02, 1, 2, 3])
        #expect(ChildFrame.announcedLength(Array(bytes[0..<4])) == 8)
        #expect(ChildFrame.parse(rest: Array(bytes[4...])) == frame)
        let reply = childReply(to: ChildFrame(id: 7, op: .decode, body: Array("{".utf8)), adapter: ExampleAdapter())
        #expect(reply.id == 7)
        #expect(reply.op == ChildFrame.Op.error.rawValue)
        let unknown = childReply(to: ChildFrame(id: 8, rawOp: 0x42, body: []), adapter: ExampleAdapter())
        #expect(unknown.op == ChildFrame.Op.error.rawValue)
    }

    @Test func aChildAnswersTheHelloWithTheVersionItWillSpeak() throws {
        func answer(_ body: [UInt8]) throws -> UInt32 {
            let reply = childReply(to: ChildFrame(id: 1, op: .hello, body: body), adapter: ExampleAdapter())
            return try ABICoding.decode(AdapterHello.self, from: reply.body, what: "hello").abiVersion
        }
        #expect(try answer([0, 0, 0, 2]) == 2)
        #expect(try answer([0, 0, 0, 1]) == 1, "an older host is served its own version")
        #expect(try answer([0, 0, 0, 9]) == parleyABIVersion, "a newer host is told the newest the child speaks")
        #expect(try answer([]) == 1, "a hello without a version is from a host that predates negotiation")
    }

    @Test func aChildAnswersEncodeInTheNegotiatedForm() throws {
        let event = try #require(try ExampleAdapter().decode(try TestPaths.fixture("text.json")).first)
        let request = ChildFrame(id: 3, op: .encode, body: try ABICoding.encode(event))
        let binary = childReply(to: request, adapter: ExampleAdapter(), abiVersion: 2)
        #expect(binary.body.starts(with: ABICoding.requestListMagic))
        let json = childReply(to: request, adapter: ExampleAdapter(), abiVersion: 1)
        #expect(json.body.first == UInt8(ascii: "["))
        let expected = try ExampleAdapter().encode(event)
        #expect(try ABICoding.decodeRequests(binary.body, what: "requests") == expected)
        #expect(try ABICoding.decodeRequests(json.body, what: "requests") == expected)
    }

    @Test func theExampleChildIsSpokenToInTheNewestVersion() throws {
        let child = try ChildProcessAdapter(command: [TestPaths.exampleChild])
        defer { child.terminate() }
        #expect(child.abiVersion == parleyABIVersion)
        let event = try #require(try ExampleAdapter().decode(try TestPaths.fixture("text.json")).first)
        #expect(try child.encode(event) == (try ExampleAdapter().encode(event)))
    }
}
