import Hub

extension ZeroShotClassifier {
    /// The tokenizer layouts of Hub repos, in the order a download prefers them: `tokenizer.json` (the fast
    /// tokenizer); `vocab.json` + `merges.txt` (CLIP's BPE); `spiece.model` (SentencePiece, SigLIP); `vocab.txt`
    /// (BERT WordPiece, Chinese-CLIP).
    public static let tokenizerLayouts = FileChoice(
        "tokenizer", alternatives: [["tokenizer.json"], ["vocab.json", "merges.txt"], ["spiece.model"], ["vocab.txt"]])

    /// The files next to the tokenizer that say how to build it (`tokenizer_class`, `model_input_names`, special
    /// and added tokens), and the files of every other layout: which layout is read depends on the tokenizer class
    /// (transformers' `SiglipTokenizer` reads `spiece.model` even beside a `tokenizer.json`), so each one the repo
    /// has is fetched.
    static let tokenizerCompanions = ["tokenizer_config.json", "special_tokens_map.json", "added_tokens.json"]
        + tokenizerLayouts.alternatives.joined()

    /// What every model family needs from a Hub repo (`ModelLocator(environment:files:)`): `config.json`,
    /// `preprocessor_config.json`, safetensors weights (`model.safetensors`, or the index and every shard), one
    /// complete tokenizer layout (`tokenizerLayouts`); fetched too when the repo has them:
    /// `tokenizer_config.json`, `special_tokens_map.json`, `added_tokens.json` and the other layouts' files.
    public static let modelFiles = FileSelection(
        required: ["config.json", "preprocessor_config.json"], choices: [tokenizerLayouts], safetensorsWeights: true,
        optional: tokenizerCompanions)

    /// What tokenization alone needs (`zeroshot tokenize`): one complete tokenizer layout; fetched too when the repo
    /// has them: `config.json` (the text model's context length, and `model_type` for a tokenizer without a
    /// `tokenizer_class`) and the files `modelFiles` fetches beside the tokenizer. No weights.
    public static let tokenizerFiles = FileSelection(
        choices: [tokenizerLayouts], optional: ["config.json"] + tokenizerCompanions)
}
