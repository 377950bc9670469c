/// Adds the special tokens around a single encoded sequence, as the `post_processor` entry declares it.
public protocol PostProcessor: Sendable {
    func process(_ ids: [Int32]) -> [Int32]
}

/// `RobertaProcessing` / `BertProcessing` for one sequence: `cls ids sep` (CLIP: `<|startoftext|> ... <|endoftext|>`).
public struct RobertaPostProcessor: PostProcessor {
    public let clsTokenId: Int32
    public let sepTokenId: Int32
    public init(clsTokenId: Int32, sepTokenId: Int32) {
        self.clsTokenId = clsTokenId
        self.sepTokenId = sepTokenId
    }
    public func process(_ ids: [Int32]) -> [Int32] { [clsTokenId] + ids + [sepTokenId] }
}

/// `TemplateProcessing` for one sequence: the `single` template's special tokens around the sequence `$A`.
public struct TemplatePostProcessor: PostProcessor {
    public enum Item: Sendable, Equatable {
        case sequence
        case special([Int32])
    }
    public let items: [Item]
    public init(items: [Item]) { self.items = items }
    public func process(_ ids: [Int32]) -> [Int32] {
        var out: [Int32] = []
        out.reserveCapacity(ids.count + 2)
        for item in items {
            switch item {
            case .sequence: out += ids
            case .special(let s): out += s
            }
        }
        return out
    }
}

/// Applies post-processors in order (`ByteLevel` post-processing only changes offsets and is a no-op on ids).
public struct PostProcessorSequence: PostProcessor {
    public let processors: [any PostProcessor]
    public init(_ processors: [any PostProcessor]) { self.processors = processors }
    public func process(_ ids: [Int32]) -> [Int32] { processors.reduce(ids) { $1.process($0) } }
}

/// Leaves the ids unchanged.
public struct IdentityPostProcessor: PostProcessor {
    public init() {}
    public func process(_ ids: [Int32]) -> [Int32] { ids }
}
