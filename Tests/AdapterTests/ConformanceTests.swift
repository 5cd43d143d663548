import InstagramAdapter
import MessengerAdapter
import ParleyKit
import ParleyKitTesting
import Testing
import WhatsAppAdapter

/// The ADK's conformance suite (ParleyKitTesting) against each adapter, fed the shared fixtures.
@Suite struct ConformanceTests {
    /// Inbound fixtures and the event kinds each must decode to.
    static let expected: [String: [BridgeEvent.Kind]] = [
        "whatsapp_text.json": [.message], "whatsapp_image.json": [.message], "whatsapp_reaction.json": [.reaction],
        "whatsapp_reply_context.json": [.message], "whatsapp_status_read.json": [.receipt],
        "messenger_text.json": [.message], "messenger_text_full_envelope.json": [.message],
        "messenger_attachment_image.json": [.message], "messenger_reply_to.json": [.message],
        "messenger_reaction.json": [.reaction], "messenger_delivery.json": [.receipt], "messenger_read.json": [.receipt],
        "instagram_text.json": [.message], "instagram_image.json": [.message], "instagram_reaction.json": [.reaction],
        "instagram_seen.json": [.receipt],
    ]

    /// Hand-written payloads for the kinds no shared fixture shows.
    static let quirks: [String: [(String, [UInt8], [BridgeEvent.Kind])]] = [
        "whatsapp": [
            ("edit_revoke_unsupported", waWebhook(waValue(messages: #"""
            [{"from":"1","id":"wamid.E","timestamp":"8","type":"edit","edit":{"original_message_id":"wamid.O","message":{"type":"text","text":{"body":"fixed"}}}},
             {"from":"1","id":"wamid.D","timestamp":"9","type":"revoke","revoke":{"original_message_id":"wamid.O"}},
             {"from":"1","id":"wamid.U","timestamp":"9","type":"unsupported","unsupported":{"type":"edit"}}]
            """#)), [.edit, .delete, .unsupported]),
            ("smb_echo", waWebhook(#"""
            {"metadata":{"phone_number_id":"106540352242922"},
             "message_echoes":[{"from":"15550783881","to":"16505551234","id":"wamid.EC","timestamp":"20","type":"text","text":{"body":"typed"}}]}
            """#, field: "smb_message_echoes"), [.echo]),
        ],
        "messenger": [
            ("edit_echo_delete_optin", pageWebhook(#"""
            {"sender":{"id":"U"},"recipient":{"id":"PAGE"},"timestamp":9,"message_edit":{"mid":"m_e","text":"fixed","num_edit":1}},
            {"sender":{"id":"PAGE"},"recipient":{"id":"U"},"timestamp":9,"message":{"is_echo":true,"mid":"m_x","text":"agent"}},
            {"sender":{"id":"U"},"recipient":{"id":"PAGE"},"timestamp":9,"message":{"mid":"m_d","is_deleted":true}},
            {"sender":{"id":"U"},"recipient":{"id":"PAGE"},"timestamp":9,"optin":{}}
            """#), [.edit, .echo, .delete, .unsupported]),
        ],
        "instagram": [
            ("delete_echo_unsupported", igWebhook(#"""
            {"sender":{"id":"U"},"recipient":{"id":"IG"},"timestamp":5,"message":{"mid":"a4","is_deleted":"true"}},
            {"sender":{"id":"IG"},"recipient":{"id":"U"},"timestamp":5,"message":{"mid":"a5","is_echo":true,"text":"echo"}},
            {"sender":{"id":"U"},"recipient":{"id":"IG"},"timestamp":5,"message":{"mid":"a6","attachments":[{"type":"ephemeral"}]}}
            """#), [.delete, .echo, .unsupported]),
        ],
    ]

    func run(_ adapter: some Adapter) throws {
        var fixtures: [Fixture] = []
        for (name, kinds) in Self.expected.sorted(by: { $0.key < $1.key }) where name.hasPrefix(adapter.name + "_") {
            fixtures.append(Fixture(name: name, payload: try fixture(name), expectedKinds: kinds))
        }
        for (name, payload, kinds) in Self.quirks[adapter.name] ?? [] {
            fixtures.append(Fixture(name: name, payload: payload, expectedKinds: kinds))
        }
        // A generous hang limit: this runs in debug builds on a shared machine.
        let report = AdapterConformance.run(adapter, fixtures: fixtures, options: .init(slowCallLimit: .seconds(30)))
        #expect(report.passed, "\(report)")
    }

    @Test func whatsAppPassesTheConformanceSuite() throws { try run(WhatsAppAdapter()) }
    @Test func messengerPassesTheConformanceSuite() throws { try run(MessengerAdapter()) }
    @Test func instagramPassesTheConformanceSuite() throws { try run(InstagramAdapter()) }
}
