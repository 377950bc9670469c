import FileReading
import Foundation

/// The parts of a SentencePiece `ModelProto` (`spiece.model`, `tokenizer.model`) that encoding needs, read from the
/// protobuf wire format (sentencepiece's `sentencepiece_model.proto`); unknown fields are skipped.
public struct SentencePieceModel: Sendable {
    /// `ModelProto.SentencePiece.Type`.
    public enum PieceType: Int, Sendable {
        case normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
    }

    public struct Piece: Sendable, Equatable {
        public var piece: String
        public var score: Float
        public var type: PieceType
    }

    /// `TrainerSpec.ModelType`.
    public enum ModelType: Int, Sendable {
        case unigram = 1, bpe = 2, word = 3, char = 4

        public var name: String {
            switch self {
            case .unigram: return "UNIGRAM"
            case .bpe: return "BPE"
            case .word: return "WORD"
            case .char: return "CHAR"
            }
        }
    }

    /// The pieces in id order (a piece's id is its index).
    public var pieces: [Piece] = []
    /// `trainer_spec.model_type` as stored (1 unigram, 2 BPE, 3 word, 4 char).
    public var modelTypeValue: Int = 1
    public var modelType: ModelType? { ModelType(rawValue: modelTypeValue) }
    public var byteFallback = false
    public var treatWhitespaceAsSuffix = false
    public var unkId: Int32 = 0
    public var bosId: Int32 = 1
    public var eosId: Int32 = 2
    public var padId: Int32 = -1
    public var unkPiece = "<unk>"
    public var bosPiece = "<s>"
    public var eosPiece = "</s>"
    public var padPiece = "<pad>"
    /// `normalizer_spec.name`, e.g. `nmt_nfkc`.
    public var normalizerName = ""
    /// `normalizer_spec.precompiled_charsmap`: the normalization rules (a Darts double-array trie and the
    /// replacement strings); empty for the `identity` normalizer.
    public var precompiledCharsmap: [UInt8] = []
    public var addDummyPrefix = true
    public var removeExtraWhitespaces = true
    public var escapeWhitespaces = true

    /// Reads and parses a model file.
    /// - Throws: `TokenizerError.unreadableFile` when the file cannot be read; `.invalidContent` (naming the file
    ///   and the byte offset) when it is not a well-formed `ModelProto` or has no pieces.
    public init(contentsOf url: URL) throws {
        let data: Data
        do {
            data = try FileContents.read(url, maxBytes: FileContents.maxTokenizerFileBytes)
        } catch {
            throw TokenizerError.unreadableFile(path: url.path, reason: error.localizedDescription)
        }
        try self.init(bytes: [UInt8](data), path: url.path)
    }

    /// Parses `ModelProto` bytes; `path` names the source in errors.
    public init(bytes: [UInt8], path: String) throws {
        var reader = ProtobufReader(bytes: bytes[...], path: path)
        while let (field, wire) = try reader.nextField() {
            switch (field, wire) {
            case (1, .lengthDelimited):
                pieces.append(try SentencePieceModel.parsePiece(try reader.subReader()))
            case (2, .lengthDelimited):
                try parseTrainerSpec(try reader.subReader())
            case (3, .lengthDelimited):
                try parseNormalizerSpec(try reader.subReader())
            default:
                try reader.skip(wire)
            }
        }
        if pieces.isEmpty {
            throw TokenizerError.invalidContent(path: path, reason: "not a SentencePiece model: no pieces")
        }
    }

    private static func parsePiece(_ r: ProtobufReader) throws -> Piece {
        var r = r
        var piece = Piece(piece: "", score: 0, type: .normal)
        while let (field, wire) = try r.nextField() {
            switch (field, wire) {
            case (1, .lengthDelimited): piece.piece = try r.string()
            case (2, .fixed32): piece.score = Float(bitPattern: try r.fixed32())
            case (3, .varint):
                let raw = Int(truncatingIfNeeded: try r.varint())
                guard let type = PieceType(rawValue: raw) else {
                    throw r.error("piece type \(raw) is not one of 1-6")
                }
                piece.type = type
            default: try r.skip(wire)
            }
        }
        return piece
    }

    private mutating func parseTrainerSpec(_ r: ProtobufReader) throws {
        var r = r
        while let (field, wire) = try r.nextField() {
            switch (field, wire) {
            case (3, .varint): modelTypeValue = Int(truncatingIfNeeded: try r.varint())
            case (24, .varint): treatWhitespaceAsSuffix = try r.varint() != 0
            case (35, .varint): byteFallback = try r.varint() != 0
            case (40, .varint): unkId = Int32(truncatingIfNeeded: try r.varint())
            case (41, .varint): bosId = Int32(truncatingIfNeeded: try r.varint())
            case (42, .varint): eosId = Int32(truncatingIfNeeded: try r.varint())
            case (43, .varint): padId = Int32(truncatingIfNeeded: try r.varint())
            case (45, .lengthDelimited): unkPiece = try r.string()
            case (46, .lengthDelimited): bosPiece = try r.string()
            case (47, .lengthDelimited): eosPiece = try r.string()
            case (48, .lengthDelimited): padPiece = try r.string()
            default: try r.skip(wire)
            }
        }
    }

    private mutating func parseNormalizerSpec(_ r: ProtobufReader) throws {
        var r = r
        while let (field, wire) = try r.nextField() {
            switch (field, wire) {
            case (1, .lengthDelimited): normalizerName = try r.string()
            case (2, .lengthDelimited): precompiledCharsmap = Array(try r.payload())
            case (3, .varint): addDummyPrefix = try r.varint() != 0
            case (4, .varint): removeExtraWhitespaces = try r.varint() != 0
            case (5, .varint): escapeWhitespaces = try r.varint() != 0
            default: try r.skip(wire)
            }
        }
    }
}

/// A reader of the protobuf wire format: field keys, varints, fixed-width values and length-delimited payloads.
struct ProtobufReader {
    enum WireType: UInt64 {
        case varint = 0, fixed64 = 1, lengthDelimited = 2, startGroup = 3, endGroup = 4, fixed32 = 5
    }

    private let data: ArraySlice<UInt8>
    private var position: Int
    let path: String

    init(bytes: ArraySlice<UInt8>, path: String) {
        data = bytes
        position = bytes.startIndex
        self.path = path
    }

    func error(_ reason: String) -> TokenizerError {
        TokenizerError.invalidContent(
            path: path, reason: "not a valid SentencePiece model (protobuf): \(reason) at byte \(position)")
    }

    /// The next field number and wire type, or nil at the end of the message.
    mutating func nextField() throws -> (Int, WireType)? {
        if position >= data.endIndex { return nil }
        let key = try varint()
        guard let wire = WireType(rawValue: key & 7) else { throw error("unknown wire type \(key & 7)") }
        let field = key >> 3
        guard field > 0, field < (1 << 29) else { throw error("field number \(field)") }
        return (Int(field), wire)
    }

    mutating func varint() throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < data.endIndex else { throw error("truncated varint") }
            let b = data[position]
            position += 1
            if shift == 63 && b > 1 { throw error("varint longer than 64 bits") }
            result |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return result }
            shift += 7
            if shift > 63 { throw error("varint longer than 10 bytes") }
        }
    }

    mutating func fixed32() throws -> UInt32 {
        guard data.endIndex - position >= 4 else { throw error("truncated 32-bit value") }
        var v: UInt32 = 0
        for i in 0..<4 { v |= UInt32(data[position + i]) << (8 * UInt32(i)) }
        position += 4
        return v
    }

    mutating func payload() throws -> ArraySlice<UInt8> {
        let length = try varint()
        guard length <= UInt64(data.endIndex - position) else {
            throw error("length \(length) runs past the end of the data")
        }
        let start = position
        position += Int(length)
        return data[start..<position]
    }

    mutating func string() throws -> String {
        let raw = try payload()
        guard let s = String(validating: raw, as: UTF8.self) else { throw error("string is not valid UTF-8") }
        return s
    }

    mutating func subReader() throws -> ProtobufReader {
        ProtobufReader(bytes: try payload(), path: path)
    }

    mutating func skip(_ wire: WireType) throws {
        switch wire {
        case .varint: _ = try varint()
        case .fixed64:
            guard data.endIndex - position >= 8 else { throw error("truncated 64-bit value") }
            position += 8
        case .fixed32: _ = try fixed32()
        case .lengthDelimited: _ = try payload()
        case .startGroup, .endGroup: throw error("groups are not used in ModelProto")
        }
    }
}
