import Foundation
import XCTest
import ZeroShot
@testable import ZeroShotServer

/// `POST /v1/embeddings`: the classifier's own embeddings in OpenAI's shape, both encodings, both modalities.
final class EmbeddingsTests: XCTestCase {
    override class func tearDown() {
        PayloadServer.stopAll()
        super.tearDown()
    }

    static let route = "/v1/embeddings"

    func server() throws -> PayloadServer { try PayloadServer.shared("tiny-f16", model: "tiny-f16") }

    func embeddings(_ response: PayloadServer.Response, file: StaticString = #filePath, line: UInt = #line) throws -> (objects: [[String: Any]], body: [String: Any]) {
        XCTAssertEqual(response.status, 200, response.text, file: file, line: line)
        let body = try XCTUnwrap(try response.json() as? [String: Any], file: file, line: line)
        XCTAssertEqual(body["object"] as? String, "list", file: file, line: line)
        XCTAssertEqual(body["model"] as? String, "tiny-f16", file: file, line: line)
        let data = try XCTUnwrap(body["data"] as? [[String: Any]], file: file, line: line)
        for (i, item) in data.enumerated() {
            XCTAssertEqual(item["object"] as? String, "embedding", file: file, line: line)
            XCTAssertEqual(item["index"] as? Int, i, file: file, line: line)
        }
        return (data, body)
    }

    func testTextEmbeddingsAreTheClassifiers() throws {
        let server = try server()
        let texts = ["a photo of a cat", "Café au lait 東京"]
        let (data, body) = try embeddings(try server.postJSON(Self.route, ["model": "anything", "input": texts]))
        let classifier = try server.classifier
        let expected = try classifier.textEmbeddings(texts)
        XCTAssertEqual(data.count, 2)
        for (item, want) in zip(data, expected) {
            let got = try XCTUnwrap(item["embedding"] as? [Double])
            XCTAssertEqual(got.count, classifier.model.embeddingWidth)
            XCTAssertEqual(got.count, want.count)
            // Another process: within float32 rounding (the compute thread count adapts to the load).
            for (a, b) in zip(got, want) { XCTAssertEqual(Float(a), b, accuracy: 1e-6) }
            XCTAssertEqual(got.reduce(0) { $0 + $1 * $1 }, 1, accuracy: 1e-5)
        }
        let tokens = texts.map { classifier.tokenizer.encode($0, maxLength: classifier.textLength).ids.count }.reduce(0, +)
        let usage = try XCTUnwrap(body["usage"] as? [String: Int])
        XCTAssertEqual(usage, ["prompt_tokens": tokens, "total_tokens": tokens])
        XCTAssertGreaterThan(tokens, 4)

        // One string, base64 of little-endian float32.
        let (single, _) = try embeddings(try server.postJSON(Self.route, ["input": texts[0], "encoding_format": "base64"]))
        let bytes = try XCTUnwrap(Data(base64Encoded: try XCTUnwrap(single[0]["embedding"] as? String)))
        let floats = stride(from: 0, to: bytes.count, by: 4).map { i in
            Float(bitPattern: UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24)
        }
        XCTAssertEqual(floats.count, expected[0].count)
        for (a, b) in zip(floats, expected[0]) { XCTAssertEqual(a, b, accuracy: 1e-6) }
    }

    func testImageEmbeddingsFromDataURIs() throws {
        let server = try server()
        let files = ["chelsea.jpg", "coffee_small.png"]
        let inputs = try files.map { "data:image/*;base64," + (try Data(contentsOf: pipelineImage($0))).base64EncodedString() }
        let (data, body) = try embeddings(try server.postJSON(Self.route, ["input": inputs, "modality": "image"]))
        let classifier = try server.classifier
        let expected = classifier.imageEmbeddings(files.map { .file(pipelineImage($0)) })
        for (item, want) in zip(data, expected) {
            let got = try XCTUnwrap(item["embedding"] as? [Double]).map { Float($0) }
            let want = try want.get()
            XCTAssertEqual(got.count, want.count)
            for (a, b) in zip(got, want) { XCTAssertEqual(a, b, accuracy: 1e-6) }
        }
        XCTAssertEqual(body["usage"] as? [String: Int], ["prompt_tokens": 0, "total_tokens": 0])
    }

    func testFaultsNameTheField() throws {
        let server = try server()
        let cases: [(String, Any, Int, String)] = [
            ("empty list", ["input": [] as [String]], 422, "input: an empty list"),
            ("empty string", ["input": ""], 422, "input: an empty string"),
            ("empty string in a list", ["input": ["cat", ""]], 422, "input[1]: an empty string"),
            ("missing input", ["model": "x"], 422, "input: missing"),
            ("token ids", ["input": [1, 2, 3]], 422, "input[0]: expected a string"),
            ("input a number", ["input": 3], 422, "input: expected a string or a list of strings"),
            ("bad encoding", ["input": "cat", "encoding_format": "int8"], 422, "encoding_format: \"int8\" is not \"float\" or \"base64\""),
            ("bad modality", ["input": "cat", "modality": "audio"], 422, "modality: \"audio\" is not"),
            ("image not a data URI", ["input": ["a cat"], "modality": "image"], 422, "input[0]: an image input must be a data: URI"),
            ("image raw base64", ["input": "iVBORw0KGgo=", "modality": "image"], 422, "input: an image input must be a data: URI"),
            ("image URL without --allow-urls", ["input": "https://example.com/a.jpg", "modality": "image"], 400, "--allow-urls"),
            ("image bad data URI", ["input": "data:image/png;base64,@@", "modality": "image"], 400, "input: the data: URI's base64"),
            ("image not an image", ["input": "data:text/plain,hello", "modality": "image"], 400, "input: "),
            ("long text", ["input": ["cat", String(repeating: "x", count: 10_001)]], 422, "input[1]: 10001 characters, more than the limit of 10000"),
            ("dimensions", ["input": "cat", "dimensions": 3], 422, "dimensions: 3"),
            ("too many", ["input": (0...1000).map { "t\($0)" }], 422, "input: 1001 inputs, more than the limit of 1000"),
        ]
        for (what, body, status, message) in cases {
            let response = try server.postJSON(Self.route, body)
            XCTAssertEqual(response.status, status, "\(what): \(response.text)")
            XCTAssertTrue(response.errorMessage?.contains(message) == true, "\(what): \(response.text)")
        }
        let notJSON = try server.postText(Self.route, "input=cat")
        XCTAssertEqual(notJSON.status, 400, notJSON.text)
    }
}
