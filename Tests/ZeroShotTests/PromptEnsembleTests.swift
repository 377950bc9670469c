import Foundation
import XCTest
@testable import ZeroShot

/// Prompt ensembles against transformers: the class embeddings (open_clip's build_zero_shot_classifier recipe on
/// get_text_features) and the logits of real images (foolbox's ImageNet / CIFAR samples), goldens from
/// Tools/reference/ensemble_fixtures.py.
final class PromptEnsembleTests: XCTestCase {
    struct Golden: Decodable {
        struct Image: Decodable {
            let image: String
            let logits: [Float]
            let scores: [Float]
            let ranking: [Int]
        }
        struct Case: Decodable {
            let class_names: String
            let class_count: Int
            let templates: String
            let prompts: Int
            let class_embeddings: [[Float]]?
            let images: [Image]
        }
        let checkpoint: String
        let scoring: String
        let cases: [Case]
    }

    static let checkpoints = ["tiny-p8-quickgelu", "tiny-p16-gelu", "siglip-p8-nomask", "chinese-clip-crop"]

    static func golden(_ checkpoint: String) throws -> Golden {
        let data = try Data(contentsOf: fixturesDirectory.appendingPathComponent("ensemble/\(checkpoint).json"))
        return try JSONDecoder().decode(Golden.self, from: data)
    }

    func testEnsembleLogitsAndRankingMatchTransformers() throws {
        var compared = 0, embeddingRows = 0
        for checkpoint in Self.checkpoints {
            let golden = try Self.golden(checkpoint)
            let classifier = try ZeroShotClassifier(
                directory: fixturesDirectory.appendingPathComponent("models/\(checkpoint)"), options: .init(warn: { _ in }))
            XCTAssertEqual("\(classifier.model.scoring)", golden.scoring, checkpoint)
            let files = golden.cases[0].images.map { fixturesDirectory.appendingPathComponent($0.image) }
            let imageEmbeddings = try classifier.imageEmbeddings(files.map { .file($0) }).map { try $0.get() }
            for c in golden.cases {
                let names = Array(try XCTUnwrap(PromptSets.builtInClassNames(c.class_names)).prefix(c.class_count))
                let templates = try XCTUnwrap(PromptSets.builtInTemplates(c.templates))
                XCTAssertEqual(names.count * templates.count, c.prompts)
                let what = "\(checkpoint) \(c.class_names) × \(c.templates)"
                let embeddings = try classifier.classEmbeddings(classNames: names, templates: templates)
                XCTAssertEqual(embeddings.count, names.count, what)
                if let expected = c.class_embeddings {
                    for (row, (got, want)) in zip(embeddings, expected).enumerated() {
                        XCTAssertEqual(got.count, want.count)
                        let diff = zip(got, want).map { abs($0 - $1) }.max()!
                        XCTAssertLessThanOrEqual(diff, 1e-5, "\(what) class embedding \(row)")
                        embeddingRows += 1
                    }
                }
                let predictions = classifier.predictions(imageEmbeddings: imageEmbeddings, textEmbeddings: embeddings,
                                                         candidateLabels: names)
                for (image, result) in zip(c.images, predictions) {
                    let index = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, $0) })
                    XCTAssertEqual(Self.tieBlocks(result.map { index[$0.label]! }, image.logits),
                                   Self.tieBlocks(image.ranking, image.logits), "\(what) \(image.image) ranking")
                    for p in result {
                        let i = index[p.label]!
                        XCTAssertEqual(p.logit, image.logits[i], accuracy: 1e-4, "\(what) \(image.image) \(p.label)")
                        XCTAssertEqual(p.score, image.scores[i], accuracy: 1e-5, "\(what) \(image.image) \(p.label)")
                    }
                    compared += 1
                }
            }
        }
        XCTAssertEqual(compared, Self.checkpoints.count * 3 * 5)
        XCTAssertEqual(embeddingRows, Self.checkpoints.count * 10)
    }

    /// A ranking as consecutive groups of labels whose reference logits tie at float precision (within 1e-5 of
    /// the group's first): the order is identical across groups; within one, rounding decides in either library.
    /// (The tiny Chinese-CLIP's vocabulary reads several English class names as [UNK] alone, so their prompts tie.)
    static func tieBlocks(_ ranking: [Int], _ logits: [Float]) -> [Set<Int>] {
        var blocks: [Set<Int>] = []
        var first: Float = .nan
        for label in ranking {
            if let last = blocks.indices.last, abs(logits[label] - first) <= 1e-5 {
                blocks[last].insert(label)
            } else {
                blocks.append([label])
                first = logits[label]
            }
        }
        return blocks
    }

    func testOneTemplateIsThePipelineAndEnsembleIsTheRenormalisedMean() throws {
        let classifier = try ZeroShotClassifier(directory: fixturesDirectory.appendingPathComponent("models/tiny-p8-quickgelu"),
                                                options: .init(warn: { _ in }))
        let names = ["cat", "dog"], templates = ["a photo of a {}.", "art of the {}.", "a {} in a video game."]
        XCTAssertEqual(try classifier.classEmbeddings(classNames: names, templates: [templates[0]]),
                       try classifier.labelEmbeddings(names, hypothesisTemplate: templates[0]))
        let ensemble = try classifier.classEmbeddings(classNames: names, templates: templates)
        for (c, name) in names.enumerated() {
            let rows = try classifier.textEmbeddings(templates.map { try applyHypothesisTemplate($0, to: name) })
            var mean = [Float](repeating: 0, count: rows[0].count)
            for row in rows { for d in mean.indices { mean[d] += row[d] / 3 } }
            let norm = mean.reduce(0) { $0 + $1 * $1 }.squareRoot()
            for d in mean.indices { XCTAssertEqual(ensemble[c][d], mean[d] / norm, accuracy: 1e-6) }
            XCTAssertNotEqual(ensemble[c], rows[0])
        }
        // classify with a template list ranks by those embeddings.
        let image = fixtureImage("chelsea.jpg")
        let viaClassify = try classifier.classify([.file(image)], candidateLabels: names, hypothesisTemplates: templates)[0].get()
        let direct = classifier.predictions(imageEmbeddings: [try classifier.imageEmbeddings([.file(image)])[0].get()],
                                            textEmbeddings: ensemble, candidateLabels: names)[0]
        XCTAssertEqual(viaClassify, direct)
        XCTAssertThrowsError(try classifier.classEmbeddings(classNames: names, templates: [])) {
            XCTAssertEqual($0 as? ZeroShotError, .noTemplates)
        }
        XCTAssertThrowsError(try classifier.classEmbeddings(classNames: [], templates: templates)) {
            XCTAssertEqual($0 as? ZeroShotError, .noCandidateLabels)
        }
    }

    func testBuiltInSets() throws {
        let openai = try XCTUnwrap(PromptSets.builtInTemplates("openai-imagenet"))
        XCTAssertEqual(openai.count, 80)
        XCTAssertEqual(openai.first, "a bad photo of a {}.")
        XCTAssertEqual(openai.last, "a tattoo of the {}.")
        let cifar = try XCTUnwrap(PromptSets.builtInTemplates("openai-cifar"))
        XCTAssertEqual(cifar.count, 18)
        XCTAssertEqual(cifar.first, "a photo of a {}.")
        XCTAssertEqual(PromptSets.builtInTemplates("simple")?.count, 7)
        for name in PromptSets.templateSetNames {
            for template in try PromptSets.templates(name) {
                XCTAssertEqual(try applyHypothesisTemplate(template, to: "X").components(separatedBy: "X").count, 2, template)
            }
        }
        let imagenet = try XCTUnwrap(PromptSets.builtInClassNames("imagenet"))
        XCTAssertEqual(imagenet.count, 1000)
        // OpenAI's cleaned names keep two pairs of equal names (missile 657/744, sunglasses 836/837), as open_clip does.
        XCTAssertEqual(Set(imagenet).count, 998)
        XCTAssertEqual([imagenet[0], imagenet[1], imagenet[999]], ["tench", "goldfish", "toilet paper"])
        XCTAssertEqual(PromptSets.builtInClassNames("cifar10"),
                       ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"])
        let cifar100 = try XCTUnwrap(PromptSets.builtInClassNames("cifar100"))
        XCTAssertEqual(cifar100.count, 100)
        XCTAssertEqual([cifar100[1], cifar100[99]], ["aquarium fish", "worm"])
        XCTAssertNil(PromptSets.builtInTemplates("imagenet"))
        XCTAssertNil(PromptSets.builtInClassNames("simple"))
    }

    func testFilesOneEntryPerLineAndErrorsNameFileAndLine() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ens-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let good = dir.appendingPathComponent("t.txt")
        try Data("a photo of a {}.\r\n\n   \nart of the {}.\n".utf8).write(to: good)
        XCTAssertEqual(try PromptSets.templates(good.path), ["a photo of a {}.", "art of the {}."])
        let names = dir.appendingPathComponent("n.txt")
        try Data("n01440764 tench\n\n sea lion \n".utf8).write(to: names)
        XCTAssertEqual(try PromptSets.classNames(names.path), ["n01440764 tench", " sea lion "])
        let bad = dir.appendingPathComponent("bad.txt")
        try Data("a photo of a {}.\n\nart of the {x}.\n".utf8).write(to: bad)
        XCTAssertThrowsError(try PromptSets.templates(bad.path)) { error in
            guard case .invalidLine(let path, let line, _) = error as? PromptSetError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, bad.path)
            XCTAssertEqual(line, 3)
            XCTAssertTrue("\(error)".hasPrefix(bad.path + ":3: invalid template \"art of the {x}.\""), "\(error)")
        }
        let empty = dir.appendingPathComponent("empty.txt")
        try Data("\n  \n".utf8).write(to: empty)
        XCTAssertEqual(try? PromptSets.templates(empty.path), nil)
        XCTAssertThrowsError(try PromptSets.classNames(empty.path)) {
            XCTAssertEqual($0 as? PromptSetError, .empty(empty.path, what: "class names"))
        }
        let latin1 = dir.appendingPathComponent("latin1.txt")
        try Data([0x63, 0x61, 0x74, 0x0A, 0x63, 0x61, 0x66, 0xE9, 0x0A]).write(to: latin1)
        XCTAssertThrowsError(try PromptSets.classNames(latin1.path)) {
            XCTAssertEqual($0 as? PromptSetError, .unreadable(latin1.path, reason: "not UTF-8 text (line 2)"))
        }
        XCTAssertThrowsError(try PromptSets.templates(dir.appendingPathComponent("missing").path)) {
            XCTAssertTrue("\($0)".contains("missing: not a built-in set of templates (openai-imagenet, openai-cifar, simple), and no file can be read there (No such file or directory)"), "\($0)")
        }
        XCTAssertThrowsError(try PromptSets.classNames(dir.path)) {
            XCTAssertTrue("\($0)".contains("not a built-in set of class names (imagenet, cifar10, cifar100), and no file "
                                         + "can be read there (it is a directory)"), "\($0)")
        }
    }
}
