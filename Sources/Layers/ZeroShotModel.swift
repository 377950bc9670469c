// What the zero-shot facade needs of a model family: embeddings of both towers and how they become scores.
import Compute
import Foundation

/// A dual-encoder checkpoint (one per `model_type`: CLIP, Chinese-CLIP, SigLIP) as the facade uses it.
///
/// Both towers return L2-normalised embeddings, so the cosine similarity is a dot product and
/// `logits_per_image = exp(logit_scale) · cosine + logit_bias`, as transformers' models compute it.
///
/// Thread safety: conforming models are immutable after `init`; calls may run concurrently.
public protocol ZeroShotModel: AnyObject, Sendable {
    /// `config.json`'s `model_type` this family loads (`clip`, `chinese_clip`, `siglip`).
    static var modelType: String { get }
    /// The transformers image processor class whose defaults fill keys missing from `preprocessor_config.json`
    /// when it names none (`image_processor_type`), e.g. `CLIPImageProcessor`.
    static var imageProcessorClass: String { get }

    /// Loads `directory/config.json` and the weights (`model.safetensors` or its sharded index).
    /// - Throws: `ModelError` (missing file, invalid config, missing or mis-shaped tensor), `SafeTensorsError`.
    init(directory: URL, precision: Precision) throws

    /// `textMaxLength` as the `config.json` of `directory` sets it, read without the weights (for tokenizing alone).
    /// - Throws: `ModelError.missingFile`, `.invalidConfig`.
    static func textMaxLength(configIn directory: URL) throws -> Int

    /// Input side in pixels: pixel_values are `[batch, 3, imageSize, imageSize]`.
    var imageSize: Int { get }
    /// D, the width of the text embeddings (`projection_dim`; SigLIP's `text_config.projection_size`), which the
    /// image embeddings share.
    var embeddingWidth: Int { get }
    /// Arithmetic of the encoder layers.
    var precision: Precision { get }
    /// Tensors of the checkpoint the config never reads, sorted (transformers' unexpected keys).
    var unusedTensors: [String] { get }
    /// The longest input_ids row the text tower takes (`text_config.max_position_embeddings`).
    var textMaxLength: Int { get }
    /// How transformers' pipeline pads the texts of this family before the text tower.
    var textPadding: TextPadding { get }
    /// The same, known from the family alone (for tokenizing without loading the weights).
    static var pipelineTextPadding: TextPadding { get }
    /// How logits become the pipeline's scores.
    var scoring: Scoring { get }
    /// The stored `logit_scale` parameter (a log): logits use `exp(logitScale)`.
    var logitScale: Float { get }
    /// The stored `logit_bias` (SigLIP), 0 for families without one.
    var logitBias: Float { get }
    /// Multiply-adds for one image through the image tower as this model computes it (for `bench`).
    var pooledImageMultiplyAdds: Double { get }

    /// L2-normalised image embeddings `[batch, projection_dim]` from pixel_values `[batch, 3, S, S]` (flat, CHW per
    /// image). - Throws: `ModelError.invalidInput` when the count is not `batch · 3 · S²`.
    func imageEmbeddings(pixelValues: [Float], batchSize: Int) throws -> [[Float]]
    /// L2-normalised text embeddings `[batch, projection_dim]`, one per input_ids row.
    /// - Throws: `ModelError.invalidInput` for an empty or too long row, an id outside the vocabulary, or a mask
    ///   whose shape differs from the ids'.
    func textEmbeddings(_ batch: TextBatch) throws -> [[Float]]
}

/// Token ids for the text tower: one row per text, as the tokenizer gave them (special tokens included), padded
/// when the family pads (`TextPadding`), with the attention mask when the tokenizer's `model_input_names` has one.
public struct TextBatch: Sendable, Equatable {
    /// input_ids `[batch, seq]`; rows may differ in length when `attentionMask` is nil and nothing was padded.
    public var inputIds: [[Int32]]
    /// attention_mask `[batch, seq]` (1 = token, 0 = padding), or nil when the model gets none.
    public var attentionMask: [[Int32]]?

    public init(inputIds: [[Int32]], attentionMask: [[Int32]]? = nil) {
        self.inputIds = inputIds
        self.attentionMask = attentionMask
    }
}

/// Padding of the texts before the text tower, as transformers' zero-shot pipeline asks the tokenizer for it.
public enum TextPadding: Sendable, Equatable {
    /// Rows as tokenized (`padding=True` with an attention mask, which gives the same embeddings as unpadded rows).
    case none
    /// Every row padded with the pad token to this length, truncated to it (`padding="max_length"`,
    /// `max_length=64`, `truncation=True` for SigLIP).
    case maxLength(Int)
}

/// How logits_per_image become scores.
public enum Scoring: String, Sendable, Equatable {
    /// Softmax over the candidate labels: scores sum to 1 (CLIP, Chinese-CLIP).
    case softmax
    /// `sigmoid(logit)` per label, each independent of the others: scores do not sum to 1 (SigLIP).
    case sigmoid
}

extension ZeroShotModel {
    public static var pipelineTextPadding: TextPadding { .none }
    /// The family's padding (`pipelineTextPadding`).
    public var textPadding: TextPadding { Self.pipelineTextPadding }
    /// logits_per_image `[images, texts]` = `exp(logit_scale) · cosine(image, text) + logit_bias`, from the
    /// L2-normalised embeddings above.
    ///
    /// Each cosine is `dot` (products summed in Double, in index order), computed for eight texts at once: the
    /// texts are transposed so that one pass over an image's values updates eight sums held in vector registers.
    /// Every sum sees the same additions in the same order as `dot`, and the product of two floats is exact in
    /// Double, so the logits are `dot`'s bit for bit. Large inputs (relabelling stored embeddings) are spread
    /// over the compute threads by images.
    public func logitsPerImage(imageEmbeddings: [[Float]], textEmbeddings: [[Float]]) -> [[Float]] {
        let scale = Foundation.exp(logitScale), bias = logitBias
        let texts = textEmbeddings.count, images = imageEmbeddings.count
        guard let d = textEmbeddings.first?.count, textEmbeddings.allSatisfy({ $0.count == d }) else {
            return imageEmbeddings.map { image in textEmbeddings.map { text in scale * dot(image, text) + bias } }
        }
        // transposed[i * width + j] = text j's value i; columns past the texts stay 0.
        let width = (texts + 7) / 8 * 8
        var transposed = [Double](repeating: 0, count: d * width)
        for (j, text) in textEmbeddings.enumerated() {
            for i in 0..<d { transposed[i * width + j] = Double(text[i]) }
        }
        var logits = [Float](repeating: 0, count: images * texts)
        transposed.withUnsafeBufferPointer { t in
            logits.withUnsafeMutableBufferPointer { out in
                let table = UncheckedSendable(t), output = UncheckedSendable(out)
                let chunk = 256, chunks = (images + chunk - 1) / chunk
                let run = { (c: Int) in
                    let t = table.value.baseAddress!, out = output.value.baseAddress!
                    let end = min(images, (c + 1) * chunk)
                    var m = c * chunk
                    while m < end {
                        // Two images of full length at a time: twice the independent sums in flight per text row.
                        if m + 1 < end, imageEmbeddings[m].count >= d, imageEmbeddings[m + 1].count >= d {
                            imageEmbeddings[m].withUnsafeBufferPointer { x0 in
                                imageEmbeddings[m + 1].withUnsafeBufferPointer { x1 in
                                    for tile in stride(from: 0, to: texts, by: 8) {
                                        var sum0 = SIMD8<Double>(repeating: 0), sum1 = SIMD8<Double>(repeating: 0)
                                        var row = UnsafeRawPointer(t + tile)
                                        for i in 0..<d {
                                            let v = row.loadUnaligned(as: SIMD8<Double>.self)
                                            sum0 += SIMD8<Double>(repeating: Double(x0[i])) * v
                                            sum1 += SIMD8<Double>(repeating: Double(x1[i])) * v
                                            row += width * MemoryLayout<Double>.stride
                                        }
                                        for j in 0..<min(8, texts - tile) {
                                            out[m * texts + tile + j] = scale * Float(sum0[j]) + bias
                                            out[(m + 1) * texts + tile + j] = scale * Float(sum1[j]) + bias
                                        }
                                    }
                                }
                            }
                            m += 2
                            continue
                        }
                        imageEmbeddings[m].withUnsafeBufferPointer { x in
                            let n = min(x.count, d)  // dot sums min(image.count, text.count) products
                            for tile in stride(from: 0, to: texts, by: 8) {
                                var sum = SIMD8<Double>(repeating: 0)
                                var row = UnsafeRawPointer(t + tile)
                                for i in 0..<n {
                                    sum += SIMD8<Double>(repeating: Double(x[i])) * row.loadUnaligned(as: SIMD8<Double>.self)
                                    row += width * MemoryLayout<Double>.stride
                                }
                                for j in 0..<min(8, texts - tile) { out[m * texts + tile + j] = scale * Float(sum[j]) + bias }
                            }
                        }
                        m += 1
                    }
                }
                if images * texts * d >= 1 << 22 {
                    ComputeThreads.parallelFor(chunks) { c, _ in run(c) }
                } else {
                    for c in 0..<chunks { run(c) }
                }
            }
        }
        return (0..<images).map { m in Array(logits[(m * texts)..<((m + 1) * texts)]) }
    }
}

extension TextBatch {
    /// Each row without its padding: the tokens whose attention mask is 1 (every token without a mask). For text
    /// towers where masked positions cannot change the result (bidirectional attention with the mask applied to the
    /// keys, or causal attention with right padding) this gives transformers' numbers without computing the padding.
    /// - Throws: `ModelError.invalidInput` when the mask's shape differs from the ids' or it is not 0/1.
    package func unpaddedRows() throws -> [[Int32]] {
        guard let mask = attentionMask else { return inputIds }
        try validateMask()
        return zip(inputIds, mask).map { ids, m in zip(ids, m).filter { $0.1 == 1 }.map(\.0) }
    }

    /// - Throws: `ModelError.invalidInput` when `attentionMask` does not have the shape of `inputIds` or holds
    ///   values other than 0 and 1.
    package func validateMask() throws {
        guard let mask = attentionMask else { return }
        guard mask.count == inputIds.count else {
            throw ModelError.invalidInput("attention_mask has \(mask.count) rows, input_ids \(inputIds.count)")
        }
        for (i, (ids, m)) in zip(inputIds, mask).enumerated() {
            guard ids.count == m.count else {
                throw ModelError.invalidInput("attention_mask row \(i) has \(m.count) values, input_ids row \(i) \(ids.count)")
            }
            guard m.allSatisfy({ $0 == 0 || $0 == 1 }) else {
                throw ModelError.invalidInput("attention_mask row \(i) holds values other than 0 and 1")
            }
        }
    }
}
