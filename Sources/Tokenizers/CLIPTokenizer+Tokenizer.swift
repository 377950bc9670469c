extension CLIPTokenizer: Tokenizer {
    /// input_ids as transformers' `CLIPTokenizer(text).input_ids` gives them: `[bos, ..., eos]`, not truncated.
    /// (`encode(_:) -> Encoding`, which truncates to `maxLength`, is preferred where both would fit.)
    @_disfavoredOverload
    public func encode(_ text: String) -> [Int32] {
        pipeline.postProcessor.process(pipeline.encodeContent(text))
    }

    /// `tokenizer(text, truncation=True, max_length=maxLength).input_ids`: the text's tokens are cut so that the
    /// whole row, bos and eos included, is `maxLength` long; `maxLength` below 2 leaves the text whole, as
    /// `tokenizers` does.
    public func encode(_ text: String, maxLength: Int) -> Encoding {
        pipeline.encode(text, maxLength: maxLength, truncationSide: .right)
    }
}
