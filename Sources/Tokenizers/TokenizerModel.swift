/// The model stage of a `tokenizers` pipeline (the `model` entry of `tokenizer.json`): one pre-tokenized word in,
/// its token ids out.
public protocol TokenizerModel: Sendable {
    /// Token ids of one pre-tokenized word (Unicode scalars, as Rust `char`s).
    func tokenize(_ word: [Unicode.Scalar]) -> [Int32]
}

extension BPEModel: TokenizerModel {}

/// A model whose kind is known only when `tokenizer.json` is read (the generic pipeline of `AutoTokenizer`).
public struct AnyTokenizerModel: TokenizerModel {
    public let base: any TokenizerModel
    public init(_ base: any TokenizerModel) { self.base = base }
    public func tokenize(_ word: [Unicode.Scalar]) -> [Int32] { base.tokenize(word) }
}
