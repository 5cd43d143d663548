import AsyncHTTPClient
import Foundation
import ParleySim
import Testing

private let text: JSONValue = .object([("recipient", .object([("id", "U")])), ("message", .object([("text", "x")]))])

@Suite(.serialized) struct FaultTests {
    @Test func error500AppliesNTimesThenClears() async throws {
        try await withSim(.messenger) { s, _ in
            try await s.client.createUser("U")
            try await s.client.setFault(SimFault(mode: "error500", count: 2))
            let first = try await s.client.sendNative(account: "P", body: text, accessToken: accessToken)
            #expect(first.status == 500)
            #expect(first.json?["error"]?["is_transient"]?.bool == true)
            #expect(try await s.client.sendNative(account: "P", body: text, accessToken: accessToken).status == 500)
            #expect(try await s.client.sendNative(account: "P", body: text, accessToken: accessToken).status == 200)
            try await s.client.setFault(SimFault(mode: "error500"))
            #expect(try await s.client.sendNative(account: "P", body: text, accessToken: accessToken).status == 500)
            #expect(try await s.client.sendNative(account: "P", body: text, accessToken: accessToken).status == 500)
            try await s.client.clearFaults()
            #expect(try await s.client.sendNative(account: "P", body: text, accessToken: accessToken).status == 200)
            // The scripting API is never affected.
            try await s.client.setFault(SimFault(mode: "error500"))
            #expect(try await s.client.users().count == 1)
        }
    }

    @Test func rateLimitAnswers429WithRetryAfter() async throws {
        try await withSim(.whatsapp) { s, _ in
            try await s.client.setFault(SimFault(mode: "rateLimit", count: 1, retryAfterSeconds: 7))
            let body: JSONValue = .object([("messaging_product", "whatsapp"), ("to", "1"), ("type", "text"), ("text", .object([("body", "x")]))])
            let r = try await s.client.sendNative(account: "PN", body: body, accessToken: accessToken)
            #expect(r.status == 429)
            #expect(r.headers.first { $0.0.lowercased() == "retry-after" }?.1 == "7")
            #expect(r.json?["error"]?["code"]?.int == 130429)
        }
    }

    @Test func slowFaultDelaysTheAnswer() async throws {
        try await withSim(.messenger) { s, _ in
            try await s.client.createUser("U")
            try await s.client.setFault(SimFault(mode: "slow", count: 1, delayMs: 300))
            let clock = ContinuousClock()
            let start = clock.now
            #expect(try await s.client.sendNative(account: "P", body: text, accessToken: accessToken).status == 200)
            #expect(clock.now - start >= .milliseconds(300))
        }
    }

    @Test func dropClosesTheConnectionWithoutAnAnswer() async throws {
        try await withSim(.messenger) { s, _ in
            try await s.client.createUser("U")
            try await s.client.setFault(SimFault(mode: "drop", count: 1))
            await #expect(throws: (any Error).self) {
                _ = try await s.client.sendNative(account: "P", body: text, accessToken: accessToken)
            }
            #expect(try await s.client.sendNative(account: "P", body: text, accessToken: accessToken).status == 200)
        }
    }

    @Test func downClosesTheListenerAndComeUpReopensTheSamePort() async throws {
        try await withSim(.instagram) { s, _ in
            try await s.client.createUser("U")
            let port = try await s.sim.waitUntilListening()
            #expect(canConnect(port))
            try await s.sim.goDown()
            #expect(!canConnect(port))
            try await s.sim.comeUp()
            #expect(canConnect(port))
            #expect(try await s.sim.waitUntilListening() == port)
            #expect(try await s.client.users().map(\.id) == ["U"])
        }
    }

    @Test func downOverHTTPComesBackByItself() async throws {
        try await withSim(.instagram) { s, _ in
            let port = try await s.sim.waitUntilListening()
            try await s.client.setFault(SimFault(mode: "down", delayMs: 1000))
            _ = try await waitFor("listener closed") { canConnect(port) ? nil : true }
            _ = try await waitFor("listener back") { canConnect(port) ? true : nil }
            #expect(try await s.client.users().isEmpty)
        }
    }

    @Test func unknownFaultModeIsRejected() async throws {
        try await withSim(.whatsapp) { s, _ in
            await #expect(throws: SimulatorError.self) { try await s.client.setFault(SimFault(mode: "explode")) }
        }
    }
}
