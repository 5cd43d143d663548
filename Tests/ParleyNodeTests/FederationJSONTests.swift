import Foundation
@testable import ParleyNode
import Testing

@Suite struct FederationJSONTests {
    // Base64 has '/' and '+': Foundation's encoder writes '/' as "\/", which a peer still on it sends.
    static let envelopes = ["AAEC/+8=", String(repeating: "QUJD", count: 300) + "/w=="]

    @Test func aTransactionBodyRoundTripsAndReadsWhatFoundationsEncoderWrote() throws {
        let body = TransactionBody(origin: "whatsapp.demo", envelopes: Self.envelopes)
        let oursBytes = TransactionBody.json(origin: body.origin, sealed: try Self.envelopes.map { try #require(Data(base64Encoded: $0)) })
        let ours = try TransactionBody(json: oursBytes)
        #expect(ours.origin == body.origin && ours.envelopes == body.envelopes)

        let foundation = try JSONEncoder().encode(body)
        #expect(String(decoding: foundation, as: UTF8.self).contains("\\/"))
        let fromOldPeer = try TransactionBody(json: Array(foundation))
        #expect(fromOldPeer.envelopes == Self.envelopes)
        // And an old peer reads ours.
        let read = try JSONDecoder().decode(TransactionBody.self, from: Data(oursBytes))
        #expect(read.origin == body.origin && read.envelopes == body.envelopes)
    }

    @Test func theSendersBodyFromSealedBytesIsTheSameJSON() throws {
        let sealed = [Data([0, 1, 2, 0xFF, 0xEF]), Data((0..<1_400).map { UInt8(truncatingIfNeeded: $0 &* 7) }), Data()]
        let origin = "whats\"app\\.demo"
        let direct = TransactionBody.json(origin: origin, sealed: sealed)
        let viaStrings = TransactionBody(origin: origin, envelopes: sealed.map { $0.base64EncodedString() })
        let foundation = JSONEncoder()
        foundation.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        #expect(direct == Array(try foundation.encode(viaStrings)))
        let read = try TransactionBody(json: direct)
        #expect(read.origin == origin && read.envelopes.map { Data(base64Encoded: $0) } == sealed)
        #expect(String(decoding: TransactionBody.json(origin: "a", sealed: []), as: UTF8.self) == #"{"envelopes":[],"origin":"a"}"#)
    }

    @Test func theBodySizeIsKnownBeforeTheBodyIsBuilt() {
        let origin = "whats\"app\\.demo"
        for sizes in [[], [0], [1], [2], [3], [1_400, 5, 0, 16_900], Array(repeating: 1_518, count: 37)] {
            let sealed = sizes.map { Data(repeating: 7, count: $0) }
            #expect(TransactionBody.jsonSize(origin: origin, sealedSizes: sizes) == TransactionBody.json(origin: origin, sealed: sealed).count)
        }
    }

    @Test func aClaimIsCutIntoRunsWhoseBodiesFitInOrder() {
        let origin = "whatsapp.demo"
        let sizes = [16_900, 1_500, 16_900, 16_900, 40_000, 300, 300, 16_900]
        let maxBytes = 50_000
        let runs = TransactionBody.runs(Array(sizes.indices), origin: origin, maxBytes: maxBytes) { sizes[$0] }
        #expect(runs.joined().elementsEqual(sizes.indices), "every envelope once, in claim order")
        for run in runs {
            let body = TransactionBody.jsonSize(origin: origin, sealedSizes: run.map { sizes[$0] })
            #expect(body <= maxBytes || run.count == 1, "only a lone envelope may be over: \(run)")
        }
        #expect(runs == [[0, 1, 2], [3], [4], [5, 6, 7]])
        // Each run is as long as the limit allows: the next envelope would not have fit.
        for (run, next) in zip(runs, runs.dropFirst()) {
            #expect(TransactionBody.jsonSize(origin: origin, sealedSizes: (run + [next[0]]).map { sizes[$0] }) > maxBytes)
        }
        #expect(TransactionBody.runs([Int](), origin: origin, maxBytes: maxBytes) { _ in 0 }.isEmpty)
        #expect(TransactionBody.runs(Array(0..<500), origin: origin, maxBytes: 8 << 20) { _ in 1_518 }.count == 1, "1 KiB messages: one body")
    }

    @Test func anAnswerKeepsOptionalFieldsOnlyWhenPresent() throws {
        let answer = TransactionAnswer(results: [
            .init(id: "aa", status: "accepted"),
            .init(id: "bb", status: "rejected", code: "policy.no_consent", message: "say \"no\"\nplease", retryable: false),
            .init(id: "cc", status: "rejected", code: "peer.busy", retryable: true),
        ])
        let text = String(decoding: answer.json, as: UTF8.self)
        #expect(text.hasPrefix(#"{"results":[{"id":"aa","status":"accepted"},"#))
        let back = try TransactionAnswer(json: answer.json)
        #expect(back.results.map(\.id) == ["aa", "bb", "cc"])
        #expect(back.results[0].code == nil && back.results[0].retryable == nil)
        #expect(back.results[1].message == "say \"no\"\nplease" && back.results[1].retryable == false)
        #expect(back.results[2].retryable == true && back.results[2].message == nil)

        let fromFoundation = try TransactionAnswer(json: Array(try JSONEncoder().encode(answer)))
        #expect(fromFoundation.results.map(\.status) == ["accepted", "rejected", "rejected"])
        #expect(fromFoundation.results[1].code == "policy.no_consent")
        let explicitNull = try TransactionAnswer(json: Array(#"{"results":[{"id":"x","status":"duplicate","code":null}]}"#.utf8))
        #expect(explicitNull.results[0].code == nil)
    }

    @Test(arguments: [
        ("not json", "invalid JSON at byte 0"),
        (#"{"envelopes":[]}"#, "origin"),
        (#"{"origin":"a","envelopes":"x"}"#, "envelopes"),
        (#"{"origin":"a","envelopes":[1]}"#, "base64 string"),
        (#"{"origin":7,"envelopes":[]}"#, "origin"),
    ])
    func aMalformedBodyIsRefusedWithWhatIsWrong(json: String, mentions: String) {
        #expect {
            try TransactionBody(json: Array(json.utf8))
        } throws: { error in
            (error as? FederationJSONError)?.description.contains(mentions) == true
        }
    }

    @Test(arguments: [
        (#"[]"#, "results"),
        (#"{"results":[{"id":"a"}]}"#, "status"),
        (#"{"results":[{"id":"a","status":"accepted","retryable":"yes"}]}"#, "retryable"),
        (#"{"results":[{"id":"a","status":"rejected","code":5}]}"#, "code"),
    ])
    func aMalformedAnswerIsRefusedWithWhatIsWrong(json: String, mentions: String) {
        #expect {
            try TransactionAnswer(json: Array(json.utf8))
        } throws: { error in
            (error as? FederationJSONError)?.description.contains(mentions) == true
        }
    }
}
