import ArgumentParser
import Foundation
import ZeroShot

/// The disk cache of text embeddings (every subcommand that embeds text): on by default, in
/// `TextEmbeddingStore.defaultDirectory()`.
struct TextCacheOptions: ParsableArguments {
    @Option(name: .customLong("text-cache"), help: ArgumentHelp(
        "Directory of the disk cache of text embeddings (default: $ZEROSHOT_CACHE/text-embeddings, else "
        + "$XDG_CACHE_HOME/zeroshot/text-embeddings, else ~/.cache/zeroshot/text-embeddings).",
        discussion: "One file per model (its weights' fingerprint, tokenizer files, --precision and embedding width), "
            + "keyed by the exact prompt: the second run of a prompt ensemble reads its embeddings instead of "
            + "running the text tower. A cache that cannot be used is warned about and the run goes on without it.",
        valueName: "dir"))
    var textCache: String?

    @Flag(name: .customLong("no-text-cache"), help: "Do not read or write the disk cache of text embeddings.")
    var noTextCache = false

    func check() throws {
        if textCache != nil && noTextCache {
            throw ValidationError("give either --text-cache or --no-text-cache, not both")
        }
        if let textCache, textCache.isEmpty {
            throw ValidationError("--text-cache needs a directory")
        }
    }

    /// The cache directory, or nil with `--no-text-cache`.
    var directory: URL? {
        if noTextCache { return nil }
        if let textCache { return URL(fileURLWithPath: textCache) }
        return TextEmbeddingStore.defaultDirectory()
    }
}
