#if DEBUG
import Foundation

/// One libFuzzer harness: a parser of untrusted bytes, driven with arbitrary input.
///
/// `run` must return normally for every input: parsers report bad input by throwing, and the harness swallows the
/// error. A trap (an array index out of range, an arithmetic overflow, a failed precondition), an address-sanitizer
/// report, a run over 10 s or an allocation over 2 GiB is a finding.
public struct FuzzTarget: Sendable {
    /// The name `scripts/fuzz` takes (`jpeg`, `tokenizer-json`, ...).
    public let name: String
    /// What it parses, in a few words, for `scripts/fuzz --list`.
    public let parses: String
    /// Seed files, as glob patterns relative to the repository root (`**` crosses folders).
    public let seeds: [String]
    /// A libFuzzer dictionary in `Tests/Fuzz/Dictionaries`, if the format has one.
    public let dictionary: String?
    /// libFuzzer's `-max_len` (bytes).
    public let maxLength: Int
    /// Parses one input.
    public let run: @Sendable (Data) -> Void

    public init(_ name: String, parses: String, seeds: [String], dictionary: String? = nil, maxLength: Int = 65_536,
                run: @escaping @Sendable (Data) -> Void) {
        self.name = name
        self.parses = parses
        self.seeds = seeds
        self.dictionary = dictionary
        self.maxLength = maxLength
        self.run = run
    }
}

extension Data {
    /// The parts of a multi-file input (`vocab.json` and `merges.txt`, say): the input split at each
    /// `FuzzTarget.fileSeparator` line, padded with empty parts to `count`.
    public func fuzzFiles(_ count: Int) -> [Data] {
        var parts: [Data] = []
        var rest = self[...]
        while parts.count < count - 1, let range = rest.range(of: FuzzTarget.fileSeparator) {
            parts.append(Data(rest[rest.startIndex..<range.lowerBound]))
            rest = rest[range.upperBound...]
        }
        parts.append(Data(rest))
        while parts.count < count { parts.append(Data()) }
        return parts
    }
}

extension FuzzTarget {
    /// The line that separates the files of a multi-file input. Computed, not stored: LeakSanitizer cannot follow a
    /// global `Data` and would report it as leaked at the end of every run.
    public static var fileSeparator: Data { Data("\n--zeroshot-fuzz-file--\n".utf8) }
}

/// A scratch folder of this process for harnesses whose parser reads files (a tokenizer folder, an index).
public enum FuzzScratch {
    public static let root: URL = {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("zeroshot-fuzz-\(getpid())", isDirectory: true)
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }()

    /// A fresh, empty folder named `name` under `root`.
    public static func folder(_ name: String) -> URL {
        let url = root.appendingPathComponent(name, isDirectory: true)
        try? FileManager.default.removeItem(at: url)
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Writes `files` (name -> bytes) into a fresh folder `name`.
    public static func folder(_ name: String, files: [String: Data]) -> URL {
        let url = folder(name)
        for (file, data) in files { try? data.write(to: url.appendingPathComponent(file)) }
        return url
    }
}
#endif
