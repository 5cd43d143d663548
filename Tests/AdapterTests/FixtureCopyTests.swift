import Foundation
import Testing

/// The shared fixtures folder, when this checkout sits next to it (skipped elsewhere, e.g. in CI).
let sharedFixtures = "/work/shared/fixtures/native"

@Suite struct FixtureCopyTests {
    /// Fixtures each test file covers; a new fixture in the shared folder fails the suite until it has a test.
    static let covered: Set<String> = [
        "whatsapp_text.json", "whatsapp_image.json", "whatsapp_reaction.json", "whatsapp_reply_context.json",
        "whatsapp_status_read.json", "whatsapp_send_text.json", "whatsapp_send_reply_text.json",
        "whatsapp_send_reaction.json", "whatsapp_send_image.json", "whatsapp_mark_read.json",
        "messenger_text.json", "messenger_text_full_envelope.json", "messenger_attachment_image.json",
        "messenger_reply_to.json", "messenger_reaction.json", "messenger_delivery.json", "messenger_read.json",
        "messenger_send_text.json", "messenger_send_reply.json", "messenger_send_image.json",
        "instagram_text.json", "instagram_image.json", "instagram_reaction.json", "instagram_seen.json",
        "instagram_send_text.json", "instagram_send_image.json", "instagram_send_reaction.json",
    ]

    @Test func everyFixtureCopyHasATest() {
        #expect(Set(NativeFixtures.all.keys) == Self.covered)
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: sharedFixtures)))
    func repositoryCopiesMatchTheSharedFixtures() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: sharedFixtures).filter { $0.hasSuffix(".json") }
        #expect(Set(names) == Set(NativeFixtures.all.keys))
        for name in names {
            let original = try String(contentsOfFile: "\(sharedFixtures)/\(name)", encoding: .utf8)
            #expect(NativeFixtures.all[name] == original, "\(name) differs from the shared copy")
        }
    }
}
