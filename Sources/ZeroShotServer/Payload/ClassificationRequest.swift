import Foundation
import Hummingbird
import ZeroShot

/// A zero-shot image classification request, read from either body the route takes.
struct ClassificationRequest: Sendable {
    /// The image, and the name of the field it came from (`inputs` or `image`) for error messages.
    var image: ImageReference
    var imageField: String
    var candidateLabels: [String]
    var hypothesisTemplate: String
    /// The field names of the labels and template (`parameters.candidate_labels` in JSON, `candidate_labels` in a form).
    var labelsField: String
    var templateField: String

    /// The JSON body, the Hugging Face Inference API's shape:
    /// `{"inputs": str, "parameters": {"candidate_labels": [str] | "a, b", "hypothesis_template"?: str}}`.
    struct JSONBody: Decodable {
        struct Parameters: Decodable {
            var candidate_labels: StringOrList?
            var hypothesis_template: String?
        }
        var inputs: String
        var parameters: Parameters?
    }

    /// Reads a JSON body (`JSONBody`).
    ///
    /// - Throws: `ServerError` 400 (not JSON, bad base64, a URL without `--allow-urls`), 422 naming the field
    ///   (missing `inputs` or labels, wrong types, empty labels, too many labels, a template that cannot be filled).
    init(json buffer: ByteBuffer, configuration: ServerConfiguration) throws {
        let body = try RequestPayload.decodeJSON(JSONBody.self, from: buffer)
        labelsField = "parameters.candidate_labels"
        templateField = "parameters.hypothesis_template"
        imageField = "inputs"
        guard let labels = body.parameters?.candidate_labels else {
            throw ServerError.invalidField(labelsField, "missing; give the candidate labels as a list of strings "
                                           + "or a comma-separated string")
        }
        switch labels {
        case .list(let list): candidateLabels = list
        case .string(let text): candidateLabels = try Self.split(text, field: labelsField)
        }
        hypothesisTemplate = body.parameters?.hypothesis_template ?? ZeroShotClassifier.defaultHypothesisTemplate
        image = try ImageReference.parse(body.inputs, field: imageField, accepts: .base64DataURIOrURL,
                                         allowURLs: configuration.allowURLs)
        try check(configuration)
    }

    /// Reads a `multipart/form-data` body: an `image` file part, `candidate_labels` parts (repeated and/or each
    /// comma-separated), an optional `hypothesis_template` part.
    ///
    /// - Throws: `ServerError` as `init(json:)`; 422 without an `image` part or without labels.
    init(form: FormData, configuration: ServerConfiguration) throws {
        labelsField = "candidate_labels"
        templateField = "hypothesis_template"
        imageField = "image"
        let images = form.parts(named: "image")
        guard let part = images.first else {
            throw ServerError.invalidField(imageField, "missing; send the image as a file part named \"image\"")
        }
        guard images.count == 1 else { throw ServerError.invalidField(imageField, "\(images.count) images; send one") }
        guard part.body.readableBytes > 0 else { throw ServerError.invalidField(imageField, "the file part is empty") }
        image = .bytes(Data(buffer: part.body))
        var labels: [String] = []
        for labelPart in form.parts(named: "candidate_labels") + form.parts(named: "candidate_labels[]") {
            labels += try Self.split(try FormData.text(labelPart, field: labelsField), field: labelsField)
        }
        guard !labels.isEmpty else {
            throw ServerError.invalidField(labelsField, "missing; add candidate_labels fields (repeated, or one "
                                           + "comma-separated list)")
        }
        candidateLabels = labels
        hypothesisTemplate = try form.text("hypothesis_template") ?? ZeroShotClassifier.defaultHypothesisTemplate
        try check(configuration)
    }

    /// A comma-separated list, split as `zeroshot classify --labels` splits it (`LabelList.split`).
    static func split(_ text: String, field: String) throws -> [String] {
        do {
            return try LabelList.split(text)
        } catch {
            throw ServerError.invalidField(field, "\"\(text)\": \(error.reason) (an empty or whitespace-only label can "
                                           + "be given in a list of strings)")
        }
    }

    /// The checks of `zeroshot classify` before any image is read: at least one label, at most `--max-labels`, a
    /// template that fills with every label; and the server's bound on the work of one request, every filled text
    /// at most `TextLimit.characters` long.
    private func check(_ configuration: ServerConfiguration) throws {
        guard !candidateLabels.isEmpty else {
            throw ServerError.invalidField(labelsField, "empty; give at least one candidate label")
        }
        guard candidateLabels.count <= configuration.maxLabels else {
            throw ServerError.invalidField(labelsField, "\(candidateLabels.count) labels, more than the limit of "
                                           + "\(configuration.maxLabels) (--max-labels)")
        }
        func fill(_ label: String) throws -> String {
            do {
                return try applyHypothesisTemplate(hypothesisTemplate, to: label)
            } catch let error as ZeroShotError {
                throw ServerError.invalidField(templateField, Self.templateReason(error))
            }
        }
        // The template alone first: a width such as "{:>1000000}" would make every label's text that long.
        let bare = try fill("").unicodeScalars.count
        guard bare <= TextLimit.characters else {
            throw ServerError.invalidField(templateField, "the template makes texts of \(bare) characters, more than the "
                                           + "limit of \(TextLimit.characters) (\(TextLimit.why))")
        }
        for (i, label) in candidateLabels.enumerated() {
            let length = try fill(label).unicodeScalars.count
            guard length <= TextLimit.characters else {
                throw ServerError.invalidField("\(labelsField)[\(i)]", "the label through the template is \(length) "
                                               + "characters, more than the limit of \(TextLimit.characters) (\(TextLimit.why))")
            }
        }
    }

    /// The reason of a template error, without repeating the field.
    static func templateReason(_ error: ZeroShotError) -> String {
        if case .invalidTemplate(let template, let reason) = error {
            return "the template \"\(template)\" cannot be filled with a label: \(reason)"
        }
        return error.localizedDescription
    }
}

/// The longest text the server embeds, in Unicode scalars: a label through its template, an embeddings input, a
/// search query. The text towers read at most 64 (SigLIP) to 77 (CLIP) tokens and the rest is cut off, so a longer
/// text only costs tokenizer time on the engine's thread, which every request shares; a template's width
/// (`{:>1000000}`) would otherwise multiply a small body into gigabytes of text.
enum TextLimit {
    static let characters = 10_000
    static let why = "the text tower reads its first 64 to 77 tokens only"

    /// - Throws: `ServerError` 422 naming `field` for a longer text.
    static func check(_ text: String, field: String) throws {
        let length = text.unicodeScalars.count
        guard length <= characters else {
            throw ServerError.invalidField(field, "\(length) characters, more than the limit of \(characters) (\(why))")
        }
    }
}
