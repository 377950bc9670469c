import Foundation
import TestSupport
import XCTest
import ZeroShot
@testable import ZeroShotServer

/// `POST /v1/zero-shot-image-classification` over HTTP: the scores of `zeroshot classify` and of transformers'
/// pipeline, both request bodies, every image spelling, and every fault named by field.
final class ClassificationTests: XCTestCase {
    override class func tearDown() {
        PayloadServer.stopAll()
        super.tearDown()
    }

    static let route = "/v1/zero-shot-image-classification"

    func clip() throws -> PayloadServer { try PayloadServer.shared("tiny-f16", model: "tiny-f16") }

    /// `[(label, score)]` of a 200 response.
    func predictions(_ response: PayloadServer.Response, file: StaticString = #filePath, line: UInt = #line) throws -> [(String, Double)] {
        XCTAssertEqual(response.status, 200, response.text, file: file, line: line)
        let list = try XCTUnwrap(try response.json() as? [[String: Any]], response.text, file: file, line: line)
        return try list.map { item in
            XCTAssertEqual(Set(item.keys), ["label", "score"], file: file, line: line)
            return (try XCTUnwrap(item["label"] as? String), try XCTUnwrap(item["score"] as? Double))
        }
    }

    /// The same labels in the same order, the same scores within float32 rounding (the compute thread count, and so
    /// the summation order, adapts to the machine's load between requests).
    func assertSame(_ a: [(String, Double)], _ b: [(String, Double)], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.map(\.0), b.map(\.0), file: file, line: line)
        XCTAssertEqual(a.count, b.count, file: file, line: line)
        for (x, y) in zip(a, b) { XCTAssertEqual(x.1, y.1, accuracy: 1e-6, file: file, line: line) }
    }

    func base64(_ url: URL) throws -> String { try Data(contentsOf: url).base64EncodedString() }

    func testScoresAreThoseOfTheCommandLine() throws {
        let server = try clip()
        for (image, labels, template) in [("chelsea.jpg", ["cat", "dog", "rocket", "cup of coffee"], "This is a photo of {}."),
                                          ("coffee.webp", ["a cup", "Café au lait", "東京の夜景"], "a blurry photo of a {}.")] {
            let response = try server.postJSON(Self.route, [
                "inputs": try base64(pipelineImage(image)),
                "parameters": ["candidate_labels": labels, "hypothesis_template": template],
            ])
            let got = try predictions(response)
            let run = try ZeroshotProcess.run(["classify", "--model", fixtureModel("tiny-f16").path, "--format", "json",
                                               "--template", template] + labels.flatMap { ["--label", $0] }
                                              + [pipelineImage(image).path])
            XCTAssertEqual(run.status, 0, run.stderr)
            let cli = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [[String: Any]])
            let expected = try XCTUnwrap(cli.first?["predictions"] as? [[String: Any]])
            XCTAssertEqual(got.map(\.0), expected.map { $0["label"] as? String ?? "" }, image)
            // Within float32 rounding: the compute thread count (and so the summation order) adapts to the load;
            // ClassificationServeTests compares the very numbers with one thread.
            for (g, e) in zip(got.map(\.1), expected.map { $0["score"] as? Double ?? .nan }) { XCTAssertEqual(g, e, accuracy: 1e-6, image) }
        }
    }

    struct CLIPGolden: Decodable {
        struct Case: Decodable {
            struct Item: Decodable { let label: String; let score: Double }
            let image: String
            let labels: [String]
            let template: String
            let predictions: [Item]
        }
        let cases: [Case]
    }

    struct SiglipGolden: Decodable {
        struct Case: Decodable {
            struct Item: Decodable { let label: String; let score: Double }
            let image: String
            let labels: [String]
            let template: String
            let predictions: [Item]?
        }
        let pipeline_cases: [Case]
    }

    func checkGolden(_ server: PayloadServer, cases: [(String, [String], String, [(String, Double)])]) throws -> Int {
        var compared = 0
        for (image, labels, template, expected) in cases {
            let got = try predictions(try server.postJSON(Self.route, [
                "inputs": try base64(pipelineImage(image)),
                "parameters": ["candidate_labels": labels, "hypothesis_template": template],
            ]))
            let context = "\(image) \(labels) \(template)"
            XCTAssertEqual(got.map(\.0), expected.map(\.0), context)
            for (g, e) in zip(got, expected) { XCTAssertEqual(g.1, e.1, accuracy: 1e-5, context) }
            compared += 1
        }
        return compared
    }

    /// The scores of transformers' zero-shot-image-classification pipeline (Tools/reference/pipeline_fixtures.py).
    func testCLIPScoresMatchTheTransformersPipeline() throws {
        let golden = try JSONDecoder().decode(CLIPGolden.self, from: Data(contentsOf: serverFixtures.appendingPathComponent("pipeline/tiny-f16.json")))
        let compared = try checkGolden(try clip(), cases: golden.cases.map { c in
            (c.image, c.labels, c.template, c.predictions.map { ($0.label, $0.score) })
        })
        XCTAssertGreaterThan(compared, 20)
    }

    /// SigLIP's sigmoid scores (Tools/reference/siglip_fixtures.py).
    func testSiglipScoresMatchTheTransformersPipeline() throws {
        let server = try PayloadServer.shared("siglip-p8-nomask", model: "siglip-p8-nomask")
        let golden = try JSONDecoder().decode(SiglipGolden.self, from: Data(contentsOf: serverFixtures.appendingPathComponent("models/golden/siglip-p8-nomask.json")))
        let compared = try checkGolden(server, cases: golden.pipeline_cases.compactMap { c in
            c.predictions.map { p in (c.image, c.labels, c.template, p.map { ($0.label, $0.score) }) }
        })
        XCTAssertGreaterThan(compared, 8)
        // A single SigLIP label is scored on its own: no softmax warning.
        let single = try server.postJSON(Self.route, ["inputs": try base64(pipelineImage("chelsea.jpg")),
                                                      "parameters": ["candidate_labels": ["sky"]]])
        XCTAssertEqual(single.status, 200)
        XCTAssertNil(single.headers["zeroshot-warning"])
    }

    /// Every spelling of the image and of the labels gives the same scores.
    func testImageAndLabelSpellings() throws {
        let server = try clip()
        let bytes = try Data(contentsOf: pipelineImage("rocket.jpg"))
        let plain = bytes.base64EncodedString()
        let reference = try predictions(try server.postJSON(Self.route, [
            "inputs": plain, "parameters": ["candidate_labels": ["rocket", "cat", "dog"]]]))
        XCTAssertEqual(reference.count, 3)
        let urlSafe = plain.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        var wrapped = ""
        for (i, c) in plain.enumerated() { wrapped.append(c); if i % 76 == 75 { wrapped += "\r\n" } }
        let spellings: [(String, Any)] = [
            ("data:image/jpeg;base64," + plain, ["rocket", "cat", "dog"]),
            (urlSafe, "rocket, cat,dog"),
            (wrapped, "rocket，cat、dog"),
            ("  " + plain + "\n", ["rocket", "cat", "dog"]),
        ]
        for (inputs, labels) in spellings {
            let got = try predictions(try server.postJSON(Self.route, ["inputs": inputs, "parameters": ["candidate_labels": labels]]))
            XCTAssertEqual(got.map(\.0), reference.map(\.0))
            assertSame(got, reference)
        }
        // multipart/form-data: labels repeated and comma-separated, the template as a field.
        let form = try predictions(try server.postForm(Self.route, fields: [("candidate_labels", "rocket"), ("candidate_labels", "cat, dog")],
                                                       files: [("image", "rocket.jpg", bytes)]))
        XCTAssertEqual(form.map(\.0), reference.map(\.0))
        assertSame(form, reference)
        let templated = try predictions(try server.postJSON(Self.route, [
            "inputs": plain, "parameters": ["candidate_labels": ["rocket", "cat", "dog"], "hypothesis_template": "a {}"]]))
        let formTemplated = try predictions(try server.postForm(Self.route, fields: [
            ("candidate_labels", "rocket,cat,dog"), ("hypothesis_template", "a {}")], files: [("image", "r.jpg", bytes)]))
        assertSame(formTemplated, templated)
        XCTAssertNotEqual(templated.map(\.1), reference.map(\.1))
    }

    /// Warnings of `zeroshot classify` come as headers; the labels are still scored.
    func testWarningsComeAsHeaders() throws {
        let response = try clip().postJSON(Self.route, ["inputs": try base64(pipelineImage("chelsea.jpg")),
                                                        "parameters": ["candidate_labels": ["cat"]]])
        XCTAssertEqual(try predictions(response).map(\.1), [1.0])
        XCTAssertTrue(response.headers["zeroshot-warning"]?.contains("only one candidate label") == true, "\(response.headers)")
        let empty = try clip().postJSON(Self.route, ["inputs": try base64(pipelineImage("chelsea.jpg")),
                                                     "parameters": ["candidate_labels": ["cat", ""], "hypothesis_template": "photo"]])
        XCTAssertEqual(empty.status, 200)
        let warning = try XCTUnwrap(empty.headers["zeroshot-warning"])
        XCTAssertTrue(warning.contains("candidate label #2 is empty"), warning)
        XCTAssertTrue(warning.contains("does not contain the label"), warning)
    }

    func testURLsOnlyWithAllowURLs() throws {
        let bytes = try Data(contentsOf: pipelineImage("chelsea.jpg"))
        let remote = try LoopbackServer { request in
            request.path == "/cat.jpg" ? .init(status: 200, headers: [("Content-Type", "image/jpeg")], body: bytes)
                : .init(status: 404, body: Data("no".utf8))
        }
        defer { remote.stop() }
        let url = remote.baseURL.appendingPathComponent("cat.jpg").absoluteString
        let refused = try clip().postJSON(Self.route, ["inputs": url, "parameters": ["candidate_labels": ["cat", "dog"]]])
        XCTAssertEqual(refused.status, 400)
        XCTAssertTrue(refused.errorMessage?.contains("--allow-urls") == true, refused.text)
        XCTAssertTrue(remote.requests.isEmpty, "the URL was fetched without --allow-urls")

        let server = try PayloadServer.shared("tiny-f16-urls", model: "tiny-f16") { $0.allowURLs = true }
        let fetched = try predictions(try server.postJSON(Self.route, ["inputs": url, "parameters": ["candidate_labels": ["cat", "dog"]]]))
        let direct = try predictions(try server.postJSON(Self.route, ["inputs": bytes.base64EncodedString(),
                                                                      "parameters": ["candidate_labels": ["cat", "dog"]]]))
        assertSame(fetched, direct)
        let missing = try server.postJSON(Self.route, ["inputs": remote.baseURL.appendingPathComponent("gone.jpg").absoluteString,
                                                       "parameters": ["candidate_labels": ["cat", "dog"]]])
        XCTAssertEqual(missing.status, 400)
        XCTAssertTrue(missing.errorMessage?.contains("404") == true, missing.text)
    }

    /// Each fault: its status, and a message naming the field.
    func testFaultsNameTheField() throws {
        let server = try clip()
        let image = try base64(pipelineImage("chelsea.jpg"))
        let labels: [String: Any] = ["candidate_labels": ["cat", "dog"]]
        let cases: [(String, PayloadServer.Response, Int, String)] = [
            ("not JSON", try server.postText(Self.route, "{\"inputs\": "), 400, "not valid JSON"),
            ("empty body", try server.postText(Self.route, ""), 400, "empty"),
            ("bad base64", try server.postJSON(Self.route, ["inputs": "abc$def", "parameters": labels]), 400, "inputs: not valid base64"),
            ("not an image", try server.postJSON(Self.route, ["inputs": Data("hello, world".utf8).base64EncodedString(),
                                                              "parameters": labels]), 400, "inputs"),
            // The first bytes of an MP4 file (an ftyp box of brand isom): a video, which this route does not sample.
            ("a video", try server.postJSON(Self.route, ["inputs": Data([0, 0, 0, 0x18] + Array("ftypisom".utf8)
                                                                         + [0, 0, 2, 0] + Array("isomavc1".utf8)
                                                                         + [UInt8](repeating: 0, count: 64)).base64EncodedString(),
                                                         "parameters": labels]), 400,
             "inputs: a video (MP4); this route takes images (zeroshot classify, embed and index sample videos into frames)"),
            ("missing inputs", try server.postJSON(Self.route, ["parameters": labels]), 422, "inputs: missing"),
            ("inputs not a string", try server.postJSON(Self.route, ["inputs": 3, "parameters": labels]), 422, "inputs: expected a string"),
            ("missing labels", try server.postJSON(Self.route, ["inputs": image]), 422, "parameters.candidate_labels: missing"),
            ("missing labels 2", try server.postJSON(Self.route, ["inputs": image, "parameters": [:] as [String: Any]]), 422,
             "parameters.candidate_labels: missing"),
            ("empty labels", try server.postJSON(Self.route, ["inputs": image, "parameters": ["candidate_labels": [] as [String]]]), 422,
             "parameters.candidate_labels: empty"),
            ("empty label string", try server.postJSON(Self.route, ["inputs": image, "parameters": ["candidate_labels": ""]]), 422,
             "parameters.candidate_labels"),
            ("trailing comma", try server.postJSON(Self.route, ["inputs": image, "parameters": ["candidate_labels": "cat,dog,"]]), 422,
             "parameters.candidate_labels: \"cat,dog,\": a trailing comma leaves label #3 empty"),
            ("labels a number", try server.postJSON(Self.route, ["inputs": image, "parameters": ["candidate_labels": 5]]), 422,
             "parameters.candidate_labels: expected a string or a list of strings"),
            ("a label a number", try server.postJSON(Self.route, ["inputs": image, "parameters": ["candidate_labels": ["cat", 5]]]), 422,
             "parameters.candidate_labels[1]: expected a string"),
            ("parameters a list", try server.postJSON(Self.route, ["inputs": image, "parameters": ["cat"]]), 422, "parameters: expected"),
            ("template a number", try server.postJSON(Self.route, ["inputs": image, "parameters": ["candidate_labels": ["cat"],
                                                                                                   "hypothesis_template": 1]]), 422,
             "parameters.hypothesis_template: expected a string"),
            ("unfillable template", try server.postJSON(Self.route, ["inputs": image, "parameters": ["candidate_labels": ["cat"],
                                                                                                     "hypothesis_template": "a {name}"]]), 422,
             "parameters.hypothesis_template: the template \"a {name}\" cannot be filled"),
            ("1,001 labels", try server.postJSON(Self.route, ["inputs": image, "parameters": ["candidate_labels": (0...1000).map { "label \($0)" }]]),
             422, "parameters.candidate_labels: 1001 labels, more than the limit of 1000"),
            ("template width", try server.postJSON(Self.route, ["inputs": image, "parameters": ["candidate_labels": ["cat"],
                                                                                                "hypothesis_template": "{:>1000000}"]]), 422,
             "parameters.hypothesis_template: the template makes texts of 1000000 characters, more than the limit of 10000"),
            ("long label", try server.postJSON(Self.route, ["inputs": image, "parameters": ["candidate_labels": ["cat", String(repeating: "ab", count: 5000)]]]),
             422, "parameters.candidate_labels[1]: the label through the template is 10020 characters"),
            ("body a list", try server.postText(Self.route, "[1, 2]"), 422, "the request body: expected"),
            ("form without image", try server.postForm(Self.route, fields: [("candidate_labels", "cat,dog")], files: []), 422, "image: missing"),
            ("form without labels", try server.postForm(Self.route, fields: [], files: [("image", "c.jpg", try Data(contentsOf: pipelineImage("chelsea.jpg")))]),
             422, "candidate_labels: missing"),
            ("form bad template", try server.postForm(Self.route, fields: [("candidate_labels", "cat"), ("hypothesis_template", "{0} {}")],
                                                      files: [("image", "c.jpg", try Data(contentsOf: pipelineImage("chelsea.jpg")))]),
             422, "hypothesis_template: "),
            ("form without boundary", try server.postText(Self.route, "x", contentType: "multipart/form-data"), 400, "boundary"),
            ("raw image body", try server.request("POST", Self.route, headers: ["Content-Type": "image/jpeg"],
                                                  body: try Data(contentsOf: pipelineImage("chelsea.jpg"))), 400, "multipart/form-data"),
        ]
        for (what, response, status, message) in cases {
            XCTAssertEqual(response.status, status, "\(what): \(response.text)")
            XCTAssertEqual(response.errorType, status == 400 || status == 422 ? "invalid_request_error" : nil, what)
            XCTAssertTrue(response.errorMessage?.contains(message) == true, "\(what): \(response.text)")
        }
    }

    func testLimitsGive413() throws {
        let server = try PayloadServer.shared("tiny-f16-small", model: "tiny-f16") {
            $0.maxPixels = 100 * 100
            $0.maxBodyBytes = 30_000
        }
        // coffee_small.png is 40,000+ bytes once base64: over the body limit.
        let large = try server.postJSON(Self.route, ["inputs": try base64(pipelineImage("chelsea.jpg")),
                                                     "parameters": ["candidate_labels": ["cat", "dog"]]])
        XCTAssertEqual(large.status, 413, large.text)
        XCTAssertTrue(large.errorMessage?.contains("--max-body-bytes") == true, large.text)
        // A small file of many pixels: over the pixel limit.
        let pixels = try server.postJSON(Self.route, ["inputs": try base64(pipelineImage("camera_gray.jpg")),
                                                      "parameters": ["candidate_labels": ["cat", "dog"]]])
        XCTAssertEqual(pixels.status, 413, pixels.text)
        XCTAssertTrue(pixels.errorMessage?.hasPrefix("inputs: ") == true, pixels.text)
        let form = try server.postForm(Self.route, fields: [("candidate_labels", "cat,dog")],
                                       files: [("image", "g.jpg", try Data(contentsOf: pipelineImage("camera_gray.jpg")))])
        XCTAssertEqual(form.status, 413, form.text)
        XCTAssertTrue(form.errorMessage?.hasPrefix("image: ") == true, form.text)
        XCTAssertTrue(form.errorMessage?.contains("--max-pixels") == true, form.text)
    }

    /// The server's default pixel limit is 50,000,000 (below the command line's Pillow threshold): a BMP header
    /// announcing 10,000 x 5,001 pixels is refused from its header with 413; 10,000 x 5,000 passes the limit (and
    /// then fails as the truncated file it is, 400).
    func testDefaultPixelLimitIsFiftyMegapixels() throws {
        let server = try PayloadServer.shared("tiny-f16", model: "tiny-f16")
        func bmpHeader(width: Int32, height: Int32) -> Data {
            var data = Data("BM".utf8)
            func le<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) } }
            le(UInt32(54 + 3 * Int(width) * Int(height)))  // file size
            le(UInt32(0)); le(UInt32(54))                  // reserved, pixel data offset
            le(UInt32(40)); le(width); le(height)           // BITMAPINFOHEADER
            le(UInt16(1)); le(UInt16(24)); le(UInt32(0)); le(UInt32(0))
            le(Int32(2835)); le(Int32(2835)); le(UInt32(0)); le(UInt32(0))
            return data
        }
        let over = try server.postJSON(Self.route, ["inputs": bmpHeader(width: 10_000, height: 5_001).base64EncodedString(),
                                                    "parameters": ["candidate_labels": ["cat", "dog"]]])
        XCTAssertEqual(over.status, 413, over.text)
        XCTAssertTrue(over.errorMessage?.contains("50000000") == true, over.text)
        let at = try server.postJSON(Self.route, ["inputs": bmpHeader(width: 10_000, height: 5_000).base64EncodedString(),
                                                  "parameters": ["candidate_labels": ["cat", "dog"]]])
        XCTAssertEqual(at.status, 400, at.text)
    }
}
