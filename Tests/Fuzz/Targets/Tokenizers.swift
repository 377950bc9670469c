#if DEBUG
import Foundation
@testable import Tokenizers

extension FuzzTargets {
    static let tokenizers: [FuzzTarget] = [
        TokenizerFuzz.layout("tokenizer-json",
                             parses: "tokenizer.json (+ tokenizer_config.json) through AutoTokenizer, then encoding",
                             files: ["tokenizer.json", "tokenizer_config.json"], dictionary: "tokenizer-json.dict"),
        TokenizerFuzz.layout("vocab-merges",
                             parses: "vocab.json + merges.txt (+ tokenizer_config.json), the slow CLIP layout, then "
                                 + "encoding",
                             files: ["vocab.json", "merges.txt", "tokenizer_config.json"],
                             dictionary: "vocab-merges.dict", modelType: "clip"),
        TokenizerFuzz.layout("vocab-txt",
                             parses: "WordPiece vocab.txt + tokenizer_config.json (BERT, Chinese-CLIP), then encoding",
                             files: ["vocab.txt", "tokenizer_config.json"], dictionary: "vocab-txt.dict",
                             modelType: "chinese_clip"),
        TokenizerFuzz.layout("spiece-model",
                             parses: "SentencePiece spiece.model (protobuf ModelProto) + tokenizer_config.json, then "
                                 + "encoding",
                             files: ["spiece.model", "tokenizer_config.json"], dictionary: "spiece-model.dict",
                             modelType: "siglip") { parts in
            // The model file alone, as SentencePieceProcessor reads it.
            if let model = try? SentencePieceModel(bytes: [UInt8](parts[0]), path: "spiece.model"),
               let processor = try? SentencePieceProcessor(model: model, path: "spiece.model") {
                for text in TokenizerFuzz.texts {
                    for piece in processor.encode(text) {
                        precondition(piece.id >= 0 && Int(piece.id) < model.pieces.count, "piece id outside the model")
                    }
                }
            }
        },
        FuzzTarget("tokenizer-config",
                   parses: "tokenizer_config.json + special_tokens_map.json (added tokens, special tokens) over "
                       + "each fixture vocabulary; the first byte picks the vocabulary",
                   seeds: ["Tests/Fuzz/Seeds/tokenizer-config/*"], dictionary: "tokenizer-json.dict",
                   maxLength: 16_384) { data in
            LeakChecks.prepare()
            guard let selector = data.first else { return }
            let base = TokenizerFuzz.configBases[Int(selector) % TokenizerFuzz.configBases.count]
            let parts = Data(data.dropFirst()).fuzzFiles(2)
            TokenizerFuzz.loadAndEncode("tokenizer-config", files: ["tokenizer_config.json": parts[0],
                                                                    "special_tokens_map.json": parts[1]],
                                        links: base)
        },
        FuzzTarget("tokenize",
                   parses: "text (any bytes, valid UTF-8 or not) through the fixture tokenizers: CLIP BPE, "
                       + "WordPiece, SentencePiece Unigram and BPE",
                   seeds: ["Tests/Fuzz/Seeds/tokenize/*", "Tests/Fixtures/wordpiece/subset.txt"],
                   // 1,024 bytes is over every context length (77 and 64 tokens) and keeps one input (33 encodings
                   // of it) well under the 10-s limit under ASan: 4,096-byte inputs took 4-5 s of CPU.
                   dictionary: "tokenize.dict", maxLength: 1024) { data in
            let text = String(decoding: data, as: UTF8.self)
            for fixture in TokenizerFuzz.fixtures {
                TokenizerFuzz.check(fixture.tokenizer, text: text, known: fixture.known,
                                    maxLengths: fixture.maxLengths)
            }
        },
    ]
}

/// What the tokenizer harnesses share: loading a folder as the product does, and the checks after encoding.
enum TokenizerFuzz {
    /// The repository root (this file is Tests/Fuzz/Targets/Tokenizers.swift).
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// Texts every loaded tokenizer encodes: a template, specials, whitespace, scripts, combining marks, and one
    /// long enough to be truncated.
    static let texts: [String] = [
        "This is a photo of a cat.",
        "",
        " \t\n\u{3000}",
        "<|startoftext|>a photo<|endoftext|> [CLS] x [SEP] [MASK] </s> <unk> <pad> <s> <bos> <eos>",
        "Café crème, naïve Å\u{212B} e\u{301} ﬁ ½ Σ ΣΑΣ İ ß",
        "猫和狗。日本語のテキスト、한국어 ▁spm▁ \u{200B}zero width",
        "emoji 🐱‍👤 🇫🇷 \u{FFFD} \u{0} \u{7F} tab\tend",
        "it's we'll they've 12345 3.14 -x- ##ing",
        String(repeating: "a photograph of a very small dog ", count: 12),
        String(repeating: "z", count: 150),
    ]

    /// Lengths the pipeline truncates to: CLIP 77, SigLIP 64, a short one, and the tokenizer's own limit.
    static let pipelineLengths = [77, 64, 16]

    /// Writes `files` (empty parts left out) into a fresh scratch folder `name`, with symbolic links to `links`
    /// (files of a fixture folder) and, for a folder without tokenizer_config.json, a config.json naming
    /// `modelType` as the model repositories ship it; loads it as `AutoTokenizer` does for the product; encodes.
    /// The harness of one tokenizer layout: the input is split into `files` (in order, at `FuzzTarget.fileSeparator`),
    /// which are loaded as a tokenizer folder and used to encode `texts`; `then` gets the parts afterwards.
    static func layout(_ name: String, parses: String, files: [String], dictionary: String, modelType: String? = nil,
                       then: (@Sendable ([Data]) -> Void)? = nil) -> FuzzTarget {
        FuzzTarget(name, parses: parses, seeds: ["Tests/Fuzz/Seeds/\(name)/*"], dictionary: dictionary,
                   maxLength: 65_536) { data in
            LeakChecks.prepare()
            let parts = data.fuzzFiles(files.count)
            loadAndEncode(name, files: Dictionary(uniqueKeysWithValues: zip(files, parts)), modelType: modelType)
            then?(parts)
        }
    }

    static func loadAndEncode(_ name: String, files: [String: Data], modelType: String? = nil, links: [URL] = []) {
        var present = files.filter { !$0.value.isEmpty }
        if let modelType {
            present["config.json"] = Data("{\"model_type\": \"\(modelType)\"}".utf8)
        }
        let folder = FuzzScratch.folder(name, files: present)
        for link in links {
            try? FileManager.default.createSymbolicLink(at: folder.appendingPathComponent(link.lastPathComponent),
                                                        withDestinationURL: link)
        }
        guard let tokenizer = try? AutoTokenizer.load(directory: folder) else { return }
        let known = knownIds(tokenizer)
        let own = tokenizer.modelMaxLength.map { [min($0, 512)] } ?? []
        for text in texts {
            check(tokenizer, text: text, known: known, maxLengths: pipelineLengths + own)
        }
    }

    /// Encodes `text` as the pipeline does (truncated to each length, then padded) and checks: every id is one the
    /// tokenizer knows (vocabulary, added tokens, post-processor specials) and not negative (`tokenizers`' ids are
    /// u32), a truncated row is no longer than the length asked for, and a row that was not truncated is the
    /// untruncated encoding.
    static func check(_ tokenizer: any Tokenizer, text: String, known: Set<Int32>, maxLengths: [Int]) {
        let full = tokenizer.encode(text)
        for id in full { precondition(known.contains(id), "id \(id) is not one the tokenizer knows") }
        let specials = specialCount(tokenizer)
        for length in maxLengths {
            let encoding = tokenizer.encode(text, maxLength: length)
            if length >= specials {
                precondition(encoding.ids.count <= length,
                             "\(encoding.ids.count) ids for a maximum length of \(length)")
            }
            if !encoding.wasTruncated {
                precondition(encoding.ids == full, "an encoding that was not truncated differs from the full one")
            }
            for id in encoding.ids { precondition(known.contains(id), "id \(id) is not one the tokenizer knows") }
            // ZeroShotClassifier.textBatch: padded to the length with pad_token on padding_side.
            let pad = tokenizer.padTokenId ?? 0
            precondition(tokenizer.padTokenId.map(known.contains) ?? true, "pad_token id \(pad) is not known")
            let fill = max(0, length - encoding.ids.count)
            let row = tokenizer.paddingSide == .left
                ? [Int32](repeating: pad, count: fill) + encoding.ids
                : encoding.ids + [Int32](repeating: pad, count: fill)
            precondition(row.count == max(length, encoding.ids.count))
            _ = tokenizer.modelInputNames.contains("attention_mask")
        }
    }

    /// Number of special tokens the tokenizer adds to one sequence.
    static func specialCount(_ tokenizer: any Tokenizer) -> Int {
        switch tokenizer {
        case let t as CLIPTokenizer: return t.pipeline.specialTokenCount
        case let t as BertTokenizer: return t.pipeline.specialTokenCount
        case let t as PipelineTokenizer: return t.pipeline.specialTokenCount
        case is SiglipTokenizer: return 1
        default: return 0
        }
    }

    /// Every id the tokenizer may give: its model's vocabulary, its added tokens and its post-processor's tokens;
    /// none negative.
    static func knownIds(_ tokenizer: any Tokenizer) -> Set<Int32> {
        let ids = allIds(tokenizer)
        precondition(ids.allSatisfy { $0 >= 0 }, "a negative token id")
        return ids
    }

    static func allIds(_ tokenizer: any Tokenizer) -> Set<Int32> {
        func extras<M>(_ p: TokenizerPipeline<M>) -> Set<Int32> {
            Set(p.addedTokens.map(\.id)).union(p.postProcessor.process([]))
        }
        func modelIds(_ model: any TokenizerModel) -> Set<Int32> {
            switch model {
            case let m as BPEModel: return Set(m.exactVocab.values)
            case let m as WordPieceModel: return Set(m.vocab.values)
            case let m as UnigramModel: return Set((0..<Int32(m.vocab.count)))
            case let m as AnyTokenizerModel: return modelIds(m.base)
            default: preconditionFailure("a tokenizer model the harness does not know: \(type(of: model))")
            }
        }
        switch tokenizer {
        case let t as CLIPTokenizer: return modelIds(t.pipeline.model).union(extras(t.pipeline))
        case let t as BertTokenizer: return modelIds(t.pipeline.model).union(extras(t.pipeline))
        case let t as PipelineTokenizer: return modelIds(t.pipeline.model).union(extras(t.pipeline))
        case let t as SiglipTokenizer:
            return Set(0..<Int32(t.processor.model.pieces.count)).union(t.addedTokens.idByContent.values)
                .union([t.eosTokenId])
        default: preconditionFailure("a tokenizer class the harness does not know: \(type(of: tokenizer))")
        }
    }

    struct Fixture {
        let tokenizer: any Tokenizer
        let known: Set<Int32>
        let maxLengths: [Int]
    }

    /// The fixture tokenizers `tokenize` runs, loaded once: CLIP BPE (vocab.json + merges.txt, tokenizer.json),
    /// WordPiece (vocab.txt, tokenizer.json), SentencePiece Unigram (spiece.model, tokenizer.json) and BPE
    /// (spiece.model, Gemma tokenizer.json).
    static let fixtures: [Fixture] = LeakChecks.ignoring {
        let folders = ["tokenizers/clip-vocab", "tokenizers/small-json", "wordpiece/cn-default", "wordpiece/json-bert",
                       "wordpiece/json-generic-sequence", "sentencepiece/siglip", "sentencepiece/unigram-json",
                       "sentencepiece/siglip-bpe", "sentencepiece/siglip-bytes", "sentencepiece/gemma-bos",
                       "sentencepiece/siglip2"]
        return folders.map { folder in
            let url = root.appendingPathComponent("Tests/Fixtures/" + folder)
            let tokenizer: any Tokenizer
            do {
                tokenizer = try AutoTokenizer.load(directory: url)
            } catch {
                preconditionFailure("fixture tokenizer \(folder) does not load: \(error)")
            }
            // The model's maximum: model_max_length, else the family's context length.
            let limit = tokenizer.modelMaxLength ?? (tokenizer is SiglipTokenizer ? 64 : 77)
            return Fixture(tokenizer: tokenizer, known: knownIds(tokenizer), maxLengths: [limit, 16])
        }
    }

    /// The vocabularies `tokenizer-config` configures: each a list of fixture files linked into the folder.
    static let configBases: [[URL]] = {
        let sets = [["tokenizers/small-json/tokenizer.json"],
                    ["wordpiece/vocab.txt"],
                    ["wordpiece/json-bert/tokenizer.json"],
                    ["sentencepiece/siglip-bytes/spiece.model"],
                    ["sentencepiece/gemma-bos/tokenizer.json"],
                    ["sentencepiece/unigram-json/tokenizer.json"]]
        return sets.map { $0.map { root.appendingPathComponent("Tests/Fixtures/" + $0).resolvingSymlinksInPath() } }
    }()
}

/// LeakSanitizer cannot follow Swift's tagged pointers (multi-payload enums such as `Data`'s representation or
/// `Pattern.Atom`) out of a global, so what a harness keeps for the whole run (the fixture tokenizers,
/// `FuzzTarget.fileSeparator`) would be reported as leaked at exit. It is allocated with leak checking off.
enum LeakChecks {
    private typealias Hook = @convention(c) () -> Void
    private static func hook(_ name: String) -> Hook? {
        dlsym(nil, name).map { unsafeBitCast($0, to: Hook.self) }
    }

    /// `body`'s result, its allocations exempt from leak reports (a no-op without the sanitizer).
    static func ignoring<T>(_ body: () -> T) -> T {
        hook("__lsan_disable")?()
        defer { hook("__lsan_enable")?() }
        return body()
    }

    private static let separator: Data = ignoring { FuzzTarget.fileSeparator }

    /// Makes the globals harnesses share under `ignoring`, before a harness first touches them.
    static func prepare() { _ = separator }
}
#endif
