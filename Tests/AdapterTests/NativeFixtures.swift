import Foundation

/// The shared native samples as this repository keeps them: `Fixtures/native/<app>/<app>_*.json`, copies of
/// `shared/fixtures/native/` (provenance in its SOURCES.md; `FixtureCopyTests` checks the copies still match).
enum NativeFixtures {
    static let directory = URL(fileURLWithPath: #filePath)  // <repo>/Tests/AdapterTests/NativeFixtures.swift
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/native").path

    /// File name → contents, for every app.
    static let all: [String: String] = {
        var all: [String: String] = [:]
        for app in ["whatsapp", "messenger", "instagram"] {
            let folder = "\(directory)/\(app)"
            for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] where name.hasPrefix(app + "_") {
                all[name] = try? String(contentsOfFile: "\(folder)/\(name)", encoding: .utf8)
            }
        }
        return all
    }()
}
