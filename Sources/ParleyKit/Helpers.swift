import Foundation

/// Timestamp conversions for adapter authors: apps send seconds or milliseconds, as numbers or strings.
public enum Timestamps {
    /// Values below this are taken as seconds, at or above as milliseconds (10^11 s is year 5138; 10^11 ms is 1973).
    static let millisecondThreshold: Double = 100_000_000_000

    /// Unix milliseconds from a number or a string of Unix seconds or milliseconds (fractions allowed), or an
    /// ISO 8601 date-time string. `nil` when the value is none of these.
    public static func unixMilliseconds(_ value: JSONValue?) -> Int64? {
        guard let value else { return nil }
        switch value {
        case .number(let text), .string(let text): return unixMilliseconds(text)
        default: return nil
        }
    }

    /// Unix milliseconds from text holding seconds, milliseconds or an ISO 8601 date-time.
    public static func unixMilliseconds(_ text: String) -> Int64? {
        let t = text.trimmingCharacters(in: .whitespaces)
        if let d = Double(t), d.isFinite, d >= 0, d < 1e16 {
            return d < millisecondThreshold ? Int64((d * 1000).rounded()) : Int64(d.rounded())
        }
        let withFraction = ISO8601DateFormatter()
        withFraction.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let plain = ISO8601DateFormatter()
        if let date = plain.date(from: t) ?? withFraction.date(from: t) {
            return Int64((date.timeIntervalSince1970 * 1000).rounded())
        }
        return nil
    }

    /// Whole Unix seconds as a decimal string (what WhatsApp-style APIs send).
    public static func secondsString(fromMilliseconds ms: Int64) -> String {
        String(ms / 1000)
    }
}

/// Normalisation of native ids, so the same user or thread always maps to the same string.
public enum NativeIDs {
    /// The digits of a phone number: `+1 650-555-1234` → `16505551234`. `nil` when there are none.
    public static func phoneDigits(_ phone: String) -> String? {
        let digits = String(phone.unicodeScalars.filter { $0.properties.numericType == .decimal && $0.isASCII }.map(Character.init))
        return digits.isEmpty ? nil : digits
    }

    /// An id with surrounding whitespace removed; `nil` when nothing is left.
    public static func trimmed(_ id: String?) -> String? {
        guard let t = id?.trimmingCharacters(in: .whitespacesAndNewlines), !t.isEmpty else { return nil }
        return t
    }

    /// A user id that may be a phone number: phone-looking ids (only `+`, digits, spaces, `-`, `.`, parentheses)
    /// become digits; anything else is kept as given (trimmed).
    public static func user(_ id: String) -> String? {
        guard let t = trimmed(id) else { return nil }
        let phoneChars = Set("+0123456789 -.()")
        if t.allSatisfy({ phoneChars.contains($0) }), let digits = phoneDigits(t) { return digits }
        return t
    }
}
