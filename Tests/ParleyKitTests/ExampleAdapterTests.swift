import Foundation
import ParleyKit
import Testing
import ExampleAdapter

@Suite struct ExampleAdapterTests {
    let adapter = ExampleAdapter()

    @Test func decodesTextWithPhoneSenderAndSecondsTimestamp() throws {
        let events = try adapter.decode(try TestPaths.fixture("text.json"))
        #expect(events.count == 1)
        let e = try #require(events.first)
        #expect(e.kind == .message)
        #expect(e.nativeId == "m1")
        #expect(e.conversation == "c42")
        #expect(e.sender == "16505551234")
        #expect(e.recipient == "bot-1")
        #expect(e.timestamp == 1_749_416_383_000)
        #expect(e.text == "Hello from Toychat 👋")
    }

    @Test func decodesNumericIdsMillisecondTimestampsRepliesAndMedia() throws {
        let e = try #require(try adapter.decode(try TestPaths.fixture("reply_with_image.json")).first)
        #expect(e.nativeId == "1002")
        #expect(e.timestamp == 1_749_416_390_123)
        #expect(e.target == "m1")
        #expect(e.attachments == [Attachment(kind: "image", url: "https://cdn.toychat.example/i/1.png", mimeType: "image/png")])
    }

    @Test func decodesEditDeleteReactionAndRead() throws {
        let both = try adapter.decode(try TestPaths.fixture("edit_and_delete.json"))
        #expect(both.map(\.kind) == [.edit, .delete])
        #expect(both.map(\.target) == ["m1", "m1"])
        #expect(both[1].timestamp == 1_749_416_393_500)
        let reaction = try #require(try adapter.decode(try TestPaths.fixture("reaction.json")).first)
        #expect(reaction.emoji == "👍")
        let read = try #require(try adapter.decode(try TestPaths.fixture("read.json")).first)
        #expect(read.kind == .receipt && read.status == .read)
    }

    @Test func refusesBadInputWithStableCodes() {
        #expect(throws: AdapterError.self) { try adapter.decode(Array("not json".utf8)) }
        do {
            _ = try adapter.decode(Array(#"{"events":[{"type":"message","chat":"c","from":"u","ts":1}]}"#.utf8))
            Issue.record("a message without id decoded")
        } catch {
            #expect(error.code == .missingField)
            #expect(error.message.contains("events[0].id"))
        }
    }

    @Test func unknownEventTypesBecomeUnsupported() throws {
        let payload = #"{"events":[{"type":"poll","id":"p1","chat":"c","from":"u","ts":1}]}"#
        let e = try #require(try adapter.decode(Array(payload.utf8)).first)
        #expect(e.kind == .unsupported)
        #expect(e.metadata["type"] == "poll")
    }

    @Test func encodesEachKindToItsEndpoint() throws {
        var event = BridgeEvent(kind: .message, nativeId: "", conversation: "c42", sender: "bot-1", timestamp: 0,
                                text: "hi", target: "m1")
        var r = try #require(try adapter.encode(event).first)
        #expect(r.method == "POST" && r.path == "/v1/chats/c42/messages")
        #expect(String(decoding: r.body, as: UTF8.self) == #"{"reply_to":"m1","text":"hi"}"#)
        event.kind = .edit
        r = try #require(try adapter.encode(event).first)
        #expect(r.method == "PATCH" && r.path == "/v1/chats/c42/messages/m1")
        event.kind = .delete
        r = try #require(try adapter.encode(event).first)
        #expect(r.method == "DELETE")
        event.kind = .reaction
        event.emoji = "🎉"
        r = try #require(try adapter.encode(event).first)
        #expect(String(decoding: r.body, as: UTF8.self) == #"{"emoji":"🎉","message":"m1"}"#)
        event.kind = .typing
        #expect(throws: AdapterError.self) { try adapter.encode(event) }
    }

    @Test func encodeRefusesTextOverTheLimit() {
        let event = BridgeEvent(kind: .message, nativeId: "", conversation: "c", sender: "s", timestamp: 0,
                                text: String(repeating: "a", count: 501))
        do {
            _ = try adapter.encode(event)
            Issue.record("501 characters were accepted")
        } catch {
            #expect(error.code == .limitExceeded)
        }
    }

    @Test func decodesSendResponses() throws {
        #expect(try adapter.decodeSendResponse(status: 200, body: Array(#"{"id":"m9"}"#.utf8)) == .accepted(nativeId: "m9"))
        #expect(try adapter.decodeSendResponse(status: 204, body: []) == .accepted(nativeId: nil))
        let rejected = try adapter.decodeSendResponse(status: 400, body: Array(#"{"error":{"code":"bad_chat","message":"no such chat"}}"#.utf8))
        #expect(rejected == .rejected(.init(code: "bad_chat", message: "no such chat")))
        guard case .retryable = try adapter.decodeSendResponse(status: 503, body: []) else {
            Issue.record("503 is not retryable")
            return
        }
        #expect(throws: AdapterError.self) { try adapter.decodeSendResponse(status: 200, body: Array("<html>".utf8)) }
    }
}
