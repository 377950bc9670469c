#if DEBUG
import Foundation
import NIOCore
@testable import ZeroShotServer

extension FuzzTargets {
    static let server: [FuzzTarget] = [
        FuzzTarget("http-json",
                   parses: "HTTP JSON bodies of /v1/zero-shot-image-classification, /v1/embeddings and /v1/search",
                   seeds: ["Tests/Fuzz/Seeds/http-json/*"], dictionary: "http-json.dict", maxLength: 16_384) { data in
            // The same body through the three routes' decoding and checks, as the server reads it (no model:
            // everything before the engine runs).
            let buffer = ByteBuffer(bytes: data)
            let configuration = ServerFuzz.configuration(allowURLs: data.first.map { $0 & 1 == 1 } ?? false)
            if let request = try? ClassificationRequest(json: buffer, configuration: configuration) {
                ServerFuzz.check(request, configuration: configuration)
            }
            if let parsed = try? EmbeddingsRoute.parse(buffer, configuration: configuration, width: 512) {
                precondition(!parsed.inputs.isEmpty && parsed.inputs.count <= configuration.maxLabels)
                precondition(parsed.modality == .text || parsed.references.count == parsed.inputs.count)
                if parsed.modality == .text {
                    precondition(parsed.inputs.allSatisfy { $0.text.unicodeScalars.count <= TextLimit.characters })
                }
                for reference in parsed.references { ServerFuzz.check(reference, allowURLs: configuration.allowURLs) }
            }
            if let (body, topK, image) = try? SearchRoute.parse(buffer, configuration: configuration) {
                precondition(SearchRoute.topKRange.contains(topK))
                precondition(body.query != nil || image != nil)
                if let image { ServerFuzz.check(image, allowURLs: configuration.allowURLs) }
            }
        },
        FuzzTarget("base64", parses: "base64 (standard and URL-safe), data: URIs and image references of requests",
                   seeds: ["Tests/Fuzz/Seeds/base64/*"], dictionary: "base64.dict", maxLength: 8192) { data in
            let text = String(decoding: data, as: UTF8.self)
            if let decoded = try? Base64.decode(text) {
                // Whatever decodes is the bytes it encodes: encoding them again and decoding gives them back.
                precondition(!decoded.isEmpty)
                precondition((try? Base64.decode(decoded.base64EncodedString())) == decoded)
            }
            if text.prefix(5).lowercased() == "data:" { _ = try? ImageReference.dataURI(text, field: "inputs") }
            for allowURLs in [false, true] {
                for accepts in [ImageReference.Accepts.base64DataURIOrURL, .dataURIOrURL] {
                    if let reference = try? ImageReference.parse(text, field: "inputs", accepts: accepts, allowURLs: allowURLs) {
                        ServerFuzz.check(reference, allowURLs: allowURLs)
                    }
                }
            }
        },
        FuzzTarget("multipart",
                   parses: "multipart/form-data bodies (first line: the Content-Type with its boundary) of classification",
                   seeds: ["Tests/Fuzz/Seeds/multipart/*"], dictionary: "multipart.dict", maxLength: 16_384) { data in
            // The first line is the Content-Type header's value, the rest the body.
            let newline = data.firstIndex(of: UInt8(ascii: "\n")) ?? data.endIndex
            let contentType = String(decoding: data[data.startIndex..<newline], as: UTF8.self)
            let body = newline < data.endIndex ? data[data.index(after: newline)...] : Data()[...]
            guard let form = try? FormData(ByteBuffer(bytes: body), contentType: contentType) else { return }
            precondition(!form.parts.isEmpty)
            let total = form.parts.reduce(0) { $0 + $1.body.readableBytes }
            precondition(total <= body.count)
            let configuration = ServerFuzz.configuration(allowURLs: false)
            if let request = try? ClassificationRequest(form: form, configuration: configuration) {
                ServerFuzz.check(request, configuration: configuration)
            }
        },
    ]
}

enum ServerFuzz {
    static func configuration(allowURLs: Bool) -> ServerConfiguration {
        var configuration = ServerConfiguration()
        configuration.allowURLs = allowURLs
        return configuration
    }

    /// What a request that passed its checks guarantees to the engine.
    static func check(_ request: ClassificationRequest, configuration: ServerConfiguration) {
        precondition(!request.candidateLabels.isEmpty && request.candidateLabels.count <= configuration.maxLabels)
        check(request.image, allowURLs: configuration.allowURLs)
    }

    /// No URL without --allow-urls, and only http(s) URLs with a host.
    static func check(_ reference: ImageReference, allowURLs: Bool) {
        switch reference {
        case .bytes: break
        case .url(let url):
            precondition(allowURLs)
            precondition(url.scheme.map { ["http", "https"].contains($0.lowercased()) } ?? false)
            precondition(url.host?.isEmpty == false)
        }
    }
}
#endif
