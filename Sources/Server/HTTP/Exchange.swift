import Engine
import NIOCore
import NIOHTTP1

/// One HTTP request as the routes see it: the whole body read (up to the body cap).
struct Request {
    var method: HTTPMethod
    /// Path segments, percent-decoded ("/indexes/a%2Fb" → ["indexes", "a/b"]).
    var path: [String]
    var query: [String: String]
    var headers: HTTPHeaders
    var body: ByteBuffer

    /// The body parsed as a JSON object; `APIError.badRequest` naming the position otherwise.
    func jsonObject(maxDepth: Int) throws -> [String: JSON] {
        guard body.readableBytes > 0 else { throw APIError.badRequest("the request needs a JSON object body") }
        let value: JSON
        do {
            value = try body.withUnsafeReadableBytes { try JSON.parse($0, maxDepth: maxDepth) }
        } catch let error as JSONSyntaxError {
            throw APIError.badRequest("the body is not valid JSON: \(error)")
        }
        guard let object = value.object else { throw APIError.badRequest("the body must be a JSON object, not \(value.typeName)") }
        return object
    }
}

/// An answer: a status and a JSON (or plain text) body.
struct Response {
    var status: HTTPResponseStatus
    var body: [UInt8]
    var contentType = "application/json"
    var extraHeaders: [(String, String)] = []

    static func json(_ value: JSON, status: HTTPResponseStatus = .ok) -> Response {
        var body = value.bytes
        body.append(0x0A)
        return Response(status: status, body: body)
    }

    static func text(_ text: String, contentType: String) -> Response {
        Response(status: .ok, body: Array(text.utf8), contentType: contentType)
    }

    /// The response's status line and headers.
    func head(version: HTTPVersion, keepAlive: Bool) -> HTTPResponseHead {
        var headers = HTTPHeaders()
        headers.reserveCapacity(3 + extraHeaders.count)
        headers.add(name: "Content-Type", value: contentType)
        headers.add(name: "Content-Length", value: String(body.count))
        headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        for (name, value) in extraHeaders { headers.add(name: name, value: value) }
        return HTTPResponseHead(version: version, status: status, headers: headers)
    }
}

/// An error the client is told about: `{"error": {"code", "message"}}` with its status.
struct APIError: Error {
    var status: HTTPResponseStatus
    var code: String
    var message: String
    var headers: [(String, String)] = []

    static func badRequest(_ message: String) -> APIError { APIError(status: .badRequest, code: "bad_request", message: message) }
    static func field(_ name: String, _ message: String) -> APIError {
        APIError(status: .badRequest, code: "bad_request", message: "\"\(name)\" \(message)")
    }
    /// No such index: a code of its own (`index_not_found`), so a client tells it from a
    /// missing document or route.
    static func notFound(_ message: String) -> APIError { APIError(status: .notFound, code: "index_not_found", message: message) }
    /// No route of that path.
    static func noRoute(_ message: String) -> APIError { APIError(status: .notFound, code: "not_found", message: message) }
    /// The index exists but has no document `id`: a code of its own, so clients tell it apart.
    static func documentNotFound(index: String, id: String) -> APIError {
        APIError(status: .notFound, code: "document_not_found", message: "index \"\(index)\" has no document \"\(id)\"")
    }
    static func overloaded(_ message: String) -> APIError {
        APIError(status: .serviceUnavailable, code: "overloaded", message: message, headers: [("Retry-After", "1")])
    }

    var response: Response {
        var response = Response.json(["error": ["code": .string(code), "message": .string(message)]], status: status)
        response.extraHeaders = headers
        return response
    }
}
