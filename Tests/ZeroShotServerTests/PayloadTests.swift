import Foundation
import Hummingbird
import XCTest
import ZeroShot
@testable import ZeroShotServer
@testable import zeroshot

/// The request readers on their own: base64, data: URIs, URL refusal, multipart parameters, field paths, label lists.
final class PayloadTests: XCTestCase {
    func testBase64Spellings() throws {
        let bytes = Data((0..<256).map { UInt8($0) } + [0xFB, 0xFF, 0xBF])
        let standard = bytes.base64EncodedString()
        XCTAssertTrue(standard.contains("+") && standard.contains("/"))
        let urlSafe = standard.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        for text in [standard, urlSafe, urlSafe.replacingOccurrences(of: "=", with: ""),
                     standard.enumerated().map { "\($0.element)" + ($0.offset % 10 == 9 ? "\r\n" : "") }.joined(),
                     " \t" + standard + "\n"] {
            XCTAssertEqual(try Base64.decode(text), bytes, text)
        }
        for n in 1...5 {
            let data = Data(repeating: 0xA5, count: n)
            XCTAssertEqual(try Base64.decode(data.base64EncodedString()), data)
            XCTAssertEqual(try Base64.decode(data.base64EncodedString().replacingOccurrences(of: "=", with: "")), data)
        }
    }

    func testBase64Faults() {
        func reason(_ text: String) -> String? {
            do { _ = try Base64.decode(text); return nil } catch { return error.reason }
        }
        XCTAssertEqual(reason("abc$def"), "character 4 is '$', which is not base64")
        XCTAssertEqual(reason("ab.c"), "character 3 is '.', which is not base64")
        XCTAssertEqual(reason("abcé"), "character 4 is 'é', which is not base64")
        XCTAssertEqual(reason("ab\u{1}c"), "character 3 is U+1, which is not base64")
        XCTAssertEqual(reason("abcde"), "5 base64 characters: one too many or too few to make whole bytes")
        XCTAssertEqual(reason("ab=c"), "'=' padding before the end, at character 3")
        XCTAssertEqual(reason("abc=="), "2 '=' where 1 belong after 3 base64 characters")
        XCTAssertEqual(reason("   "), "no base64 characters")
        XCTAssertNil(reason("abc="))
    }

    func testImageReferences() throws {
        let png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        func parse(_ text: String, _ accepts: ImageReference.Accepts = .base64DataURIOrURL, urls: Bool = false) throws -> ImageReference {
            try ImageReference.parse(text, field: "inputs", accepts: accepts, allowURLs: urls)
        }
        XCTAssertEqual(try parse(png.base64EncodedString()), .bytes(png))
        XCTAssertEqual(try parse("data:image/png;base64," + png.base64EncodedString()), .bytes(png))
        XCTAssertEqual(try parse("DATA:;BASE64," + png.base64EncodedString(), .dataURIOrURL), .bytes(png))
        XCTAssertEqual(try parse("data:image/png,%89PNG%0D%0A%1A%0A"), .bytes(png))
        XCTAssertEqual(try parse("https://example.com/a.jpg", urls: true), .url(URL(string: "https://example.com/a.jpg")!))
        func failure(_ text: String, _ accepts: ImageReference.Accepts = .base64DataURIOrURL) -> (Int, String)? {
            do { _ = try parse(text, accepts); return nil } catch let error as ServerError {
                return (Int(error.status.code), error.message)
            } catch { return (0, "\(error)") }
        }
        XCTAssertEqual(failure("http://127.0.0.1/x.jpg")?.0, 400)
        XCTAssertTrue(failure("HTTPS://example.com/x.jpg")?.1.hasPrefix("inputs: image URLs are fetched only when the server runs with --allow-urls") == true)
        XCTAssertEqual(failure("data:image/png;base64")?.0, 400)
        XCTAssertEqual(failure("data:image/png,%8")?.0, 400)
        XCTAssertEqual(failure("/tmp/photo.jpg")?.0, 400)  // a path is no base64 (the dot)
        XCTAssertEqual(failure("")?.0, 422)
        XCTAssertEqual(failure(png.base64EncodedString(), .dataURIOrURL)?.0, 422)
    }

    func testMultipartParameters() {
        XCTAssertEqual(FormData.parameter("boundary", of: "multipart/form-data; boundary=abc"), "abc")
        XCTAssertEqual(FormData.parameter("boundary", of: "multipart/form-data;charset=utf-8;BOUNDARY=\"a b;c\""), "a b;c")
        XCTAssertEqual(FormData.parameter("name", of: "form-data; name=\"image\"; filename=\"a=b.jpg\""), "image")
        XCTAssertEqual(FormData.parameter("filename", of: "form-data; name=\"image\"; filename=\"a=b \\\"q\\\".jpg\""), "a=b \"q\".jpg")
        XCTAssertNil(FormData.parameter("boundary", of: "multipart/form-data"))
    }

    func testMultipartBodies() throws {
        let body = "--XyZ\r\nContent-Disposition: form-data; name=\"candidate_labels\"\r\n\r\ncat, dog\r\n"
            + "--XyZ\r\nContent-Disposition: form-data; name=\"candidate_labels\"\r\n\r\nbird\r\n"
            + "--XyZ\r\nContent-Disposition: form-data; name=\"image\"; filename=\"x.bin\"\r\nContent-Type: image/png\r\n\r\n\u{1}\u{2}\r\n--XyZ--\r\n"
        let form = try FormData(ByteBuffer(string: body), contentType: "multipart/form-data; boundary=XyZ")
        XCTAssertEqual(form.parts.map(\.name), ["candidate_labels", "candidate_labels", "image"])
        XCTAssertEqual(form.parts[2].filename, "x.bin")
        let request = try ClassificationRequest(form: form, configuration: ServerConfiguration())
        XCTAssertEqual(request.candidateLabels, ["cat", "dog", "bird"])
        XCTAssertEqual(request.image, .bytes(Data([1, 2])))
        XCTAssertEqual(request.hypothesisTemplate, ZeroShotClassifier.defaultHypothesisTemplate)
        XCTAssertThrowsError(try FormData(ByteBuffer(string: "no parts here"), contentType: "multipart/form-data; boundary=XyZ"))
    }

    /// A header name with a byte of 0x80 or more is a 400 like any malformed body: MultipartKit traps on it (an
    /// index out of range that stopped the whole server; found by the `multipart` fuzzer, regression
    /// Tests/Fuzz/Regressions/multipart/non-ascii-header-name). Values may hold any byte; a boundary is at most 70 bytes.
    func testMultipartHeaderNameThatIsNotASCIIIsA400() throws {
        func message(_ body: [UInt8], boundary: String = "XyZ") -> String? {
            let result = Result { try FormData(ByteBuffer(bytes: body), contentType: "multipart/form-data; boundary=\(boundary)") }
            guard case .failure(let error) = result else { return nil }
            guard let error = error as? ServerError else { return "\(error)" }
            return "\(error.status.code) \(error.message)"
        }
        let malformed = "400 the multipart/form-data body is malformed (a part's headers cannot be read)"
        let part = Array("Content-Disposition: form-data; name=\"a\"\r\n".utf8)
        for body in [Array("--XyZ\r\nN\u{E9}me: x\r\n\r\nv\r\n--XyZ--\r\n".utf8),
                     Array("--XyZ\r\n".utf8) + part + [0xC3, 0xA9] + Array(": x\r\n\r\nv\r\n--XyZ--\r\n".utf8),
                     Array("--XyZ\r\n".utf8) + part + Array("\r\nv\r\n--XyZ\r\n\u{FF}: y\r\n\r\nw\r\n--XyZ--\r\n".utf8)] {
            XCTAssertEqual(message(body), malformed)
        }
        // Non-ASCII header values and part bodies are read as before.
        let fine = Array("--XyZ\r\nContent-Disposition: form-data; name=\"a\"; filename=\"\u{E9}.png\"\r\n\r\n\u{FF}\u{E9}\r\n--XyZ--\r\n".utf8)
        XCTAssertNil(message(fine))
        XCTAssertEqual(try FormData(ByteBuffer(bytes: fine), contentType: "multipart/form-data; boundary=XyZ").parts.first?.filename, "\u{E9}.png")
        XCTAssertEqual(message(fine, boundary: String(repeating: "b", count: 71)),
                       "400 the multipart/form-data boundary has 71 bytes, more than the 70 RFC 2046 allows")
    }

    func testFieldPaths() throws {
        struct Inner: Decodable { let values: [Int] }
        struct Outer: Decodable { let inner: Inner }
        func message(_ json: String) -> String? {
            let result = Result { try RequestPayload.decodeJSON(Outer.self, from: ByteBuffer(string: json)) }
            guard case .failure(let error) = result else { return nil }
            guard let error = error as? ServerError else { return "\(error)" }
            return "\(error.status.code) \(error.message)"
        }
        XCTAssertEqual(message(#"{"inner": {"values": [1, "x"]}}"#), "422 inner.values[1]: expected an integer")
        XCTAssertEqual(message(#"{"inner": {}}"#), "422 inner.values: missing")
        XCTAssertEqual(message(#"{"inner": null}"#), "422 inner: null where a JSON object is expected")
        XCTAssertEqual(message(#"{"inner": {"values": 1}}"#), "422 inner.values: expected a list")
        XCTAssertTrue(message(#"{"inner": "#)?.hasPrefix("400 the request body is not valid JSON") == true)
        XCTAssertTrue(message("\n ")?.hasPrefix("400 the request body is empty") == true)
    }

    /// The server splits a label string exactly as `zeroshot classify --labels` does.
    func testLabelListsSplitAsTheCommandLine() throws {
        for text in ["cat,dog", " cat , dog ,bird", "猫，狗、鸟", "a\tb, c", "one", "a,,b", ",a", "a,", "", " ", "a, ,b"] {
            let cli = Result { try parseLabelList(text) }
            let server = Result { try ClassificationRequest.split(text, field: "candidate_labels") }
            switch (cli, server) {
            case (.success(let a), .success(let b)): XCTAssertEqual(a, b, text)
            case (.failure(let a), .failure(let b as ServerError)):
                XCTAssertEqual(b.status, .unprocessableContent)
                let reason = try XCTUnwrap("\(a)".components(separatedBy: "\": ").last?.components(separatedBy: " (").first)
                XCTAssertTrue(b.message.contains(reason), "\(text): \(b.message) / \(a)")
            default: XCTFail("\(text): \(cli) vs \(server)")
            }
        }
    }
}
