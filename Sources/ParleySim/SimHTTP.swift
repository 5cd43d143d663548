import Foundation
import Hummingbird

/// Small helpers to answer JSON.
enum SimHTTP {
    static func json(_ value: JSONValue, status: Int, headers: HTTPFields = [:]) -> Response {
        bytes(value.serialized(escapeLikeMeta: false), status: status, headers: headers)
    }

    static func bytes(_ bytes: [UInt8], status: Int, headers: HTTPFields = [:]) -> Response {
        var h = headers
        h[.contentType] = "application/json; charset=UTF-8"
        return Response(status: .init(code: status), headers: h, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    static func encodable<T: Encodable>(_ value: T, status: Int = 200) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        do {
            return bytes(Array(try encoder.encode(value)), status: status)
        } catch {
            return failure(SimulatorError(code: "encode", message: "cannot encode the answer: \(error)", httpStatus: 500))
        }
    }

    static func failure(_ e: SimulatorError) -> Response {
        json(obj(("error", obj(("code", .string(e.code)), ("message", .string(e.message))))), status: e.httpStatus)
    }

    static func body(_ request: Request) async throws -> [UInt8] {
        var req = request
        let buffer = try await req.collectBody(upTo: 4 << 20)
        return Array(buffer.readableBytesView)
    }

    static func decode<T: Decodable>(_ type: T.Type, _ request: Request) async throws -> T {
        let bytes = try await body(request)
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes.isEmpty ? Array("{}".utf8) : bytes))
        } catch {
            throw SimulatorError(code: "bad_request", message: "request body is not the expected JSON for \(T.self): \(error)")
        }
    }
}
