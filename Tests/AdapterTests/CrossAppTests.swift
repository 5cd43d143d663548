import Foundation
import InstagramAdapter
import MessengerAdapter
import ParleyKit
import Testing
import WhatsAppAdapter

/// One adapter and the native ids the host would fill in when sending through it.
struct Far: Sendable, CustomStringConvertible {
    let adapter: any Adapter
    let account: String
    let user: String
    var description: String { adapter.name }
}

let adapters: [Far] = [
    Far(adapter: WhatsAppAdapter(), account: "106540352242922", user: "16505551234"),
    Far(adapter: MessengerAdapter(), account: "PAGE", user: "PSID"),
    Far(adapter: InstagramAdapter(), account: "17841404645593433", user: "IGSID"),
]

/// Every inbound event the suite can produce: each adapter's fixtures plus hand-written quirks.
func inboundSamples(_ name: String) throws -> [BridgeEvent] {
    var bodies: [[UInt8]] = []
    for key in NativeFixtures.all.keys.sorted() where key.hasPrefix("\(name)_") && !key.contains("_send_") && key != "whatsapp_mark_read.json" {
        bodies.append(try fixture(key))
    }
    switch name {
    case "whatsapp":
        bodies.append(waWebhook(waValue(messages: #"""
        [{"from":"1","id":"wamid.E2","timestamp":"8","type":"edit","edit":{"original_message_id":"wamid.O","message":{"type":"text","text":{"body":"fixed"}}}},
         {"from":"1","id":"wamid.D1","timestamp":"9","type":"revoke","revoke":{"original_message_id":"wamid.O"}},
         {"from":"1","id":"wamid.L","timestamp":"2","type":"location","location":{"latitude":1.5,"longitude":2.5,"name":"N"}},
         {"from":"1","id":"wamid.U","timestamp":"2","type":"unsupported","unsupported":{"type":"edit"}},
         {"from":"1","id":"wamid.R","timestamp":"2","type":"reaction","reaction":{"message_id":"wamid.T"}},
         {"from":"1","id":"wamid.A","timestamp":"2","type":"audio","audio":{"id":"m2","url":"https://x/a.ogg"}}]
        """#, statuses: #"[{"id":"wamid.S","status":"failed","timestamp":"3","recipient_id":"1","errors":[{"code":131047,"title":"t"}]}]"#)))
        bodies.append(waWebhook(#"""
        {"metadata":{"phone_number_id":"106540352242922"},
         "message_echoes":[{"from":"15550783881","to":"16505551234","id":"wamid.EC","timestamp":"20","type":"text","text":{"body":"typed"}}]}
        """#, field: "smb_message_echoes"))
    case "messenger":
        bodies.append(pageWebhook(#"""
        {"sender":{"id":"U"},"recipient":{"id":"PAGE"},"timestamp":9,"message_edit":{"mid":"m_e","text":"fixed","num_edit":1}},
        {"sender":{"id":"PAGE"},"recipient":{"id":"U"},"timestamp":9,"message":{"is_echo":true,"mid":"m_x","text":"agent"}},
        {"sender":{"id":"U"},"recipient":{"id":"PAGE"},"timestamp":9,"postback":{"title":"Go","payload":"GO"}},
        {"sender":{"id":"U"},"recipient":{"id":"PAGE"},"delivery":{"watermark":5}},
        {"sender":{"id":"U"},"recipient":{"id":"PAGE"},"timestamp":9,"optin":{}},
        {"sender":{"id":"U"},"recipient":{"id":"PAGE"},"timestamp":9,"message":{"mid":"m_d","is_deleted":true}}
        """#))
    default:
        bodies.append(igWebhook(#"""
        {"sender":{"id":"U"},"recipient":{"id":"IG"},"timestamp":5,"message":{"mid":"a1","text":"x","reply_to":{"story":{"url":"https://s","id":"1"}}}},
        {"sender":{"id":"U"},"recipient":{"id":"IG"},"timestamp":5,"message":{"mid":"a2","attachments":[{"type":"story_mention","payload":{"url":"https://s"}}]}},
        {"sender":{"id":"U"},"recipient":{"id":"IG"},"timestamp":5,"message":{"mid":"a3","attachments":[{"type":"like_heart"}]}},
        {"sender":{"id":"U"},"recipient":{"id":"IG"},"timestamp":5,"message":{"mid":"a4","is_deleted":"true"}},
        {"sender":{"id":"IG"},"recipient":{"id":"U"},"timestamp":5,"message":{"mid":"a5","is_echo":true,"text":"echo"}},
        {"sender":{"id":"U"},"recipient":{"id":"IG"},"timestamp":5,"message":{"mid":"a6","attachments":[{"type":"ephemeral"}]}}
        """#))
    }
    let adapter = try #require(adapters.first { $0.adapter.name == name }).adapter
    return try bodies.flatMap { try adapter.decode($0) }
}

/// What the host would send for `event` through `far`: the same content with `far`'s native ids, and for kinds
/// `far` cannot express the documented fallback (edit → message with the new text, delete → a notice, echo and
/// unsupported → a notice). Receipt `sent` is dropped by the host; reactions keep their emoji.
func outbound(_ event: BridgeEvent, to far: Far) -> BridgeEvent? {
    var e = event
    e.recipient = far.account
    e.conversation = far.user
    e.isGroup = false
    e.nativeId = ""
    if e.target != nil { e.target = "native-target" }
    if e.kind == .receipt && e.target == nil { e.target = "native-target" }  // the host resolves watermarks to ids
    if e.kind == .receipt && e.status == .sent { return nil }
    if !far.adapter.capabilities.outboundKinds.contains(e.kind) {
        let notice: String? = switch e.kind {
        case .edit: e.text.map { "✏️ \($0)" } ?? "✏️ (edited)"
        case .delete: "🗑 (message deleted)"
        default: "(\(e.kind.rawValue))"
        }
        e = BridgeEvent(kind: .message, nativeId: "", conversation: far.user, sender: "", recipient: far.account,
                        timestamp: e.timestamp, text: notice)
    }
    // WhatsApp media ids mean nothing elsewhere: the host re-hosts media and fills `url`.
    e.attachments = e.attachments.map { a in
        var a = a
        if a.url == nil && a.latitude == nil { a.url = "https://blob.example/\(a.mediaId ?? "x")" }
        return a
    }
    return e
}

@Suite struct CrossAppTests {
    @Test(arguments: ["whatsapp", "messenger", "instagram"])
    func everyInboundEventCanBeSentByTheOtherTwoApps(_ name: String) throws {
        let samples = try inboundSamples(name)
        let source = try #require(adapters.first { $0.adapter.name == name })
        // The samples cover every kind the source adapter declares.
        #expect(Set(samples.map(\.kind)) == source.adapter.capabilities.inboundKinds)
        for far in adapters where far.adapter.name != name {
            for event in samples {
                guard let out = outbound(event, to: far) else { continue }
                let requests: [NativeRequest]
                do {
                    requests = try far.adapter.encode(out)
                } catch {
                    Issue.record("\(far) could not encode \(name) \(event.kind) \(event.nativeId): \(error)")
                    continue
                }
                #expect(!requests.isEmpty)
                for request in requests {
                    #expect(request.path == "/\(far.account)/messages")
                    #expect(try parseJSON(request.body) is [String: Any])
                }
            }
        }
    }

    @Test(arguments: ["whatsapp", "messenger", "instagram"])
    func capabilitiesAreHonest(_ name: String) throws {
        let caps = try #require(adapters.first { $0.adapter.name == name }).adapter.capabilities
        #expect(caps.groups == (name == "whatsapp"))
        #expect(!caps.outboundKinds.contains(.edit) && !caps.outboundKinds.contains(.delete))
        #expect(!caps.edits && !caps.deletes && caps.reactions)
        #expect(caps.maxTextLength == ["whatsapp": 4096, "messenger": 2000, "instagram": 1000][name])
        #expect(caps.mediaKinds.isSuperset(of: ["image", "video", "audio", "file"]))
        #expect(caps.receipts.isSuperset(of: [.read, .delivered, .failed]))
    }

    @Test func everyAdapterRejectsTheOtherAppsWebhooks() throws {
        for far in adapters {
            for key in NativeFixtures.all.keys.sorted() where !key.hasPrefix(far.adapter.name + "_") && !key.contains("_send_") {
                let body = try fixture(key)
                // Full envelopes name another object; bare Messenger elements have no object at all.
                let error = adapterError { try far.adapter.decode(body) }
                let bare = (try parseJSON(body) as? [String: Any])?["object"] == nil
                // A bare messaging element has the same shape on Messenger and Instagram.
                if bare && far.adapter.name != "whatsapp" { continue }
                #expect(error != nil, "\(far) accepted \(key)")
            }
        }
    }

    @Test func truncatedAndCorruptedBodiesNeverCrash() throws {
        for key in NativeFixtures.all.keys.sorted() where !key.contains("_send_") {
            let body = try fixture(key)
            for far in adapters {
                // Every prefix: each must decode or throw a typed error, never trap.
                for cut in stride(from: 0, to: body.count, by: 7) {
                    _ = try? far.adapter.decode(Array(body[..<cut]))
                }
                var flipped = body
                for i in stride(from: 0, to: flipped.count, by: 11) { flipped[i] = flipped[i] ^ 0x20 }
                _ = try? far.adapter.decode(flipped)
                for type in ["null", "[]", "1", #""s""#, "{}"] {
                    let text = String(decoding: body, as: UTF8.self)
                    // Give every string-valued field a value of the wrong type.
                    let mangled = text.replacingOccurrences(of: #": ""#, with: ": \(type), \"x\": \"")
                    _ = try? far.adapter.decode(bytes(mangled))
                }
            }
        }
        #expect(adapterError { try WhatsAppAdapter().decode(Array(repeating: 0xff, count: 64)) }?.code == .malformedPayload)
    }
}
