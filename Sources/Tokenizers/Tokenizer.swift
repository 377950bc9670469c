/// A text tokenizer as the model's text tower consumes it: text in, input_ids out.
///
/// `AutoTokenizer.load(directory:)` builds the one a checkpoint directory declares.
public protocol Tokenizer: Sendable {
    /// input_ids as `tokenizer(text).input_ids` gives them: special tokens included, no padding, no truncation.
    func encode(_ text: String) -> [Int32]
    /// `tokenizer(text, truncation=True, max_length=maxLength).input_ids` (specials kept), with a flag.
    func encode(_ text: String, maxLength: Int) -> Encoding
    /// pad_token's id (nil when the tokenizer has none).
    var padTokenId: Int32? { get }
    /// `model_max_length` from tokenizer_config.json when it is a real limit (nil for the 1e30 sentinel).
    var modelMaxLength: Int? { get }
    /// `model_input_names` (tokenizer_config.json, else the class default), e.g. ["input_ids","attention_mask"].
    var modelInputNames: [String] { get }
    /// The side `padding=...` pads: tokenizer_config.json `padding_side`, else tokenizer.json's padding direction,
    /// else the class default (left for GemmaTokenizer / Siglip2Tokenizer, right for the others).
    var paddingSide: PaddingSide { get }
}

/// Which end of a row padding goes to (`padding_side`).
public enum PaddingSide: String, Sendable {
    case left, right
}

extension Tokenizer {
    /// Right, transformers' default `padding_side`.
    public var paddingSide: PaddingSide { .right }
}
