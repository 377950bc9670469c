// A labelled dataset: an ImageFolder tree or a CSV/JSONL manifest of `path,label`.
import Foundation
import ZeroShot
import Inputs
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The images of an evaluation and their true classes, read from
///
/// - an **ImageFolder** tree (torchvision's `ImageFolder`): the classes are the immediate sub-folders of the root,
///   sorted as Python's `sorted()` sorts their names (by Unicode code point, so "10" comes before "9" and "Z"
///   before "a"), as torchvision's `find_classes`. Hidden folders (names starting with ".") are not classes, as
///   `InputWalker` skips hidden names everywhere. Each class folder is walked recursively by `InputWalker` (names
///   sorted by their bytes, hidden names skipped, files recognised by their content); files that are no image are
///   counted in `skippedNonImages`. Files directly in the root belong to no class and are counted in
///   `filesOutsideClasses`. An empty class folder is still a class (it gets a warning); a symbolic link to a folder
///   is a class, as `os.scandir(...).is_dir()` follows links; one that leads to the root or a parent of it is a
///   problem (its class stays empty), and an image reached again through a link is named in `sameFiles`.
/// - a **CSV manifest** (`.csv`, RFC 4180: quoted fields, `""` for a quote, line breaks inside quotes, LF or CRLF):
///   two fields per record, `path,label`; the first record may be the header `path,label` or `label,path` (then
///   the columns are swapped; any case, spaces around the names allowed). Another first record whose label is not
///   an integer while all others are is taken for a header of other names and is an error naming it.
/// - a **JSONL manifest** (`.jsonl`): one object `{"path": string, "label": string or integer}` per non-blank line.
///
/// Manifest paths are relative to the manifest's folder; absolute paths, file: URLs and http(s) URLs are allowed
/// (another scheme, such as s3://, is an error naming the line); images are read by
/// `InputLoader` when evaluated, so a missing file is a failed image, not a wrong one. Labels: when every label is
/// an integer (JSON numbers with an integral value, 3 or 3.0; in a CSV, labels that are all plain non-negative integers such as "0" or "17", spaces around them allowed) the
/// label is the class index: the classes are 0...max label, or 0..<`classCount` when given (`--classnames`), and a
/// label >= `classCount` is an error naming its line. Otherwise the classes are the sorted unique labels.
public struct EvalDataset: Sendable {
    /// How the dataset is laid out.
    public enum Layout: String, Sendable { case imageFolder = "ImageFolder", csv = "CSV", jsonl = "JSONL" }

    /// One image of the dataset.
    public struct Item: Sendable, Equatable {
        /// The image as the dataset names it: the path as written in the manifest, or its path below the
        /// ImageFolder root ("cat/001.jpg").
        public var image: String
        /// Where the bytes are (for `InputLoader`); its `name` is `image`, so errors name the image as the dataset does.
        public var entry: InputEntry
        /// Index of the true class in `classIDs`.
        public var trueClass: Int

        public init(image: String, entry: InputEntry, trueClass: Int) {
            self.image = image
            self.entry = entry
            self.trueClass = trueClass
        }

        /// Where the image is: an absolute path, or the URL.
        public var location: String {
            switch entry.location {
            case .file(let url): return url.path
            case .remote(let url): return url.absoluteString
            }
        }
    }

    public var layout: Layout
    /// The class ids in class-index order: folder names, sorted unique string labels, or "0", "1", ... for
    /// integer labels.
    public var classIDs: [String]
    /// Whether the labels are class indices (integer labels of a manifest).
    public var integerLabels: Bool
    /// The images in dataset order: class by class for an ImageFolder, line by line for a manifest.
    public var items: [Item]
    /// ImageFolder: files below class folders whose content is not an image (left out).
    public var skippedNonImages: Int
    /// ImageFolder: files directly in the root, which belong to no class (left out).
    public var filesOutsideClasses: Int
    /// ImageFolder: what the walk could not go through (unreadable folders, broken links); the rest was walked.
    public var problems: [InputProblem]
    /// ImageFolder: the classes whose folder holds no image (still classes; see `warnings(classNames:)`).
    public var emptyClasses: [Int]

    /// A manifest record whose image (same path or URL after resolving `.` and `..`) an earlier record lists.
    public struct RepeatedImage: Sendable, Equatable {
        /// 1-based lines of the repeat and of the first record of the image.
        public var line: Int, firstLine: Int
        /// The image as the repeat writes it.
        public var image: String
        /// Whether the repeat gives another class than the first record.
        public var otherClass: Bool
    }

    /// An image of an ImageFolder reached again below a class folder (through a symbolic link or a hard link).
    public struct SameFile: Sendable, Equatable {
        /// The image as found again, and as found first (paths below the root).
        public var image: String, firstImage: String
        /// Whether the two are in different classes.
        public var otherClass: Bool
    }

    /// ImageFolder: images found again (each is still evaluated, as torchvision's ImageFolder lists it again).
    public var sameFiles: [SameFile] = []

    /// Manifest: records that list an image again (each record is still evaluated, as a dataset with repeats is).
    public var repeatedImages: [RepeatedImage] = []

    /// Things that look wrong in a manifest, one message each (the file and line first): images listed more than
    /// once (the first `limit` named, the rest counted).
    public func manifestWarnings(file: String, limit: Int = 10) -> [String] {
        var messages = repeatedImages.prefix(limit).map { r in
            "\(file):\(r.line): \(r.image) is listed again (first on line \(r.firstLine)"
                + (r.otherClass ? ", with another label" : "") + "); both records are evaluated"
        }
        if repeatedImages.count > limit {
            messages.append("\(file): \(repeatedImages.count - limit) more records list an image again")
        }
        return messages
    }

    public init(layout: Layout, classIDs: [String], integerLabels: Bool, items: [Item], skippedNonImages: Int = 0,
                filesOutsideClasses: Int = 0, problems: [InputProblem] = [], emptyClasses: [Int] = []) {
        self.layout = layout
        self.classIDs = classIDs
        self.integerLabels = integerLabels
        self.items = items
        self.skippedNonImages = skippedNonImages
        self.filesOutsideClasses = filesOutsideClasses
        self.problems = problems
        self.emptyClasses = emptyClasses
    }

    /// Things that look wrong but do not stop the run, one message each: a class folder without images (named
    /// by its folder and by its display name in `classNames`, when given).
    public func warnings(classNames: [String]? = nil) -> [String] {
        var same = sameFiles.prefix(10).map { f in
            "\(f.image): the same file as \(f.firstImage) (through a link)" + (f.otherClass
                ? ", which is of another class: the image is evaluated as both classes"
                : "; it is evaluated twice")
        }
        if sameFiles.count > 10 {
            same.append("\(sameFiles[10].image) and \(sameFiles.count - 11) more images: the same files as images "
                        + "found before (through links), evaluated again")
        }
        return same + emptyClasses.map { k in
            let id = classIDs[k]
            let name = classNames.map { $0[k] == id ? "" : " (\"\($0[k])\")" } ?? ""
            return "\(id): the class folder holds no image; class #\(k) \"\(id)\"\(name) is still a class (with n 0, "
                + "left out of mean_per_class_recall)"
        }
    }

    /// Reads the dataset at `path`: a folder (ImageFolder), a `.csv` or a `.jsonl` file (by extension, any case).
    ///
    /// - Parameter classCount: the number of display names (`--classnames`), which fixes the classes of integer
    ///   labels to 0..<classCount.
    /// - Throws: `DatasetError`: `.notFound`, `.unknownFormat`, `.noClasses`, `.invalidLine(file, line:, reason:)`
    ///   for a manifest record that cannot be used, `.labelOutOfRange`, `.empty`.
    public static func load(_ path: String, classCount: Int? = nil) throws -> EvalDataset {
        var st = stat()
        guard stat(path, &st) == 0 else {
            throw DatasetError.notFound(path, reason: String(cString: strerror(errno)))
        }
        if (st.st_mode & S_IFMT) == S_IFDIR { return try imageFolder(path) }
        let ext = (path as NSString).pathExtension.lowercased()
        guard ext == "csv" || ext == "jsonl" else { throw DatasetError.unknownFormat(path) }
        let data: Data
        do { data = try InputLoader.readFile(path, name: path).bytes } catch {
            throw DatasetError.notFound(path, reason: "\(error)")
        }
        guard let text = String(validating: data, as: UTF8.self) else {
            throw DatasetError.invalidLine(path, line: firstInvalidUTF8Line(data),
                                           reason: "the manifest is not UTF-8 text (an invalid byte sequence on this line)")
        }
        let records = ext == "csv" ? try csvRecords(text, file: path) : try jsonlRecords(text, file: path)
        return try manifest(records, file: path, layout: ext == "csv" ? .csv : .jsonl, classCount: classCount)
    }

    /// The most classes integer labels may make without `classCount` (the confusion matrix is classes²).
    public static let maxClasses = 50_000

    // MARK: - ImageFolder

    static func imageFolder(_ root: String) throws -> EvalDataset {
        // The root's names as InputWalker lists a folder: sorted as Python's sorted() (code points, the order of the
        // UTF-8 bytes); a name that is not UTF-8 is a problem, left out.
        var listing = InputWalk()
        guard let names = InputWalker.listDirectory(root, shown: root, into: &listing) else {
            var reason = "cannot be read"
            if case .unreadableDirectory(_, let why)? = listing.problems.last { reason = why }
            throw DatasetError.notFound(root, reason: reason)
        }
        var problems = listing.problems
        let base = root.hasSuffix("/") ? root : root + "/"
        var classes: [String] = []
        var outside = 0
        for name in names where !name.hasPrefix(".") {
            var st = stat()
            guard stat(base + name, &st) == 0 else {
                // A broken symbolic link or a link loop: maybe meant as a class folder; say so rather than count it
                // as a stray file of the root.
                problems.append(.unreadableEntry(base + name, reason: String(cString: strerror(errno))))
                continue
            }
            if (st.st_mode & S_IFMT) == S_IFDIR { classes.append(name) } else { outside += 1 }
        }
        guard !classes.isEmpty else { throw DatasetError.noClasses(root) }
        var dataset = EvalDataset(layout: .imageFolder, classIDs: classes, integerLabels: false, items: [],
                                  filesOutsideClasses: outside, problems: problems)
        func realPath(_ path: String) -> String? {
            guard let p = realpath(path, nil) else { return nil }
            defer { free(p) }
            return String(cString: p)
        }
        let realRoot = realPath(root)
        var firstOfFile: [FileID: Int] = [:]
        for (index, name) in classes.enumerated() {
            // A class folder that is (a link to) the root or one of its parents would hold every other class's
            // images as its own: a problem, and the class stays without images.
            if let realRoot, let real = realPath(base + name), real == realRoot || realRoot.hasPrefix(real == "/" ? "/" : real + "/") {
                dataset.problems.append(.symlinkLoop(base + name, ancestor: root))
                dataset.emptyClasses.append(index)
                continue
            }
            let walk = InputWalker().entries([base + name])
            dataset.skippedNonImages += walk.skippedNonImages
            dataset.problems += walk.problems
            if walk.entries.isEmpty { dataset.emptyClasses.append(index) }
            for var entry in walk.entries {
                let image = name + "/" + entry.shardKey
                entry.name = image
                if case .file(let url) = entry.location { entry.location = .file(url.standardizedFileURL) }
                if case .file(let url) = entry.location, let id = FileID(url.path) {
                    if let first = firstOfFile[id] {
                        let other = dataset.items[first]
                        dataset.sameFiles.append(SameFile(image: image, firstImage: other.image,
                                                          otherClass: other.trueClass != index))
                    } else {
                        firstOfFile[id] = dataset.items.count
                    }
                }
                dataset.items.append(Item(image: image, entry: entry, trueClass: index))
            }
        }
        return dataset
    }

    /// A file's identity (device and inode), which links and other spellings of its path share.
    struct FileID: Hashable {
        let device: UInt64, inode: UInt64
        init?(_ path: String) {
            var st = stat()
            guard stat(path, &st) == 0 else { return nil }
            device = UInt64(st.st_dev)
            inode = UInt64(st.st_ino)
        }
    }

    // MARK: - Manifests

    /// A `path,label` record of a manifest with its 1-based line.
    struct Record {
        var line: Int
        var path: String
        var label: Label
    }

    enum Label: Equatable {
        case string(String)
        case integer(Int)
    }

    static func manifest(_ records: [Record], file: String, layout: Layout, classCount: Int?) throws -> EvalDataset {
        guard let first = records.first else { throw DatasetError.empty(file) }
        let directory = URL(fileURLWithPath: file).deletingLastPathComponent()
        var integers = true
        if case .string = first.label { integers = false }
        // A JSONL manifest must not mix integer and string labels (a CSV's labels are read as one or the other).
        for r in records {
            let isInteger: Bool
            if case .integer = r.label { isInteger = true } else { isInteger = false }
            if isInteger != integers {
                throw DatasetError.invalidLine(file, line: r.line, reason: "label \(r.label.shown) is "
                    + (isInteger ? "an integer" : "a string") + " but line \(first.line)'s is "
                    + (integers ? "an integer" : "a string") + "; give all labels as class indices or all as names")
            }
        }
        var classIDs: [String]
        var indexOf: (Record) throws -> Int
        if integers {
            let maxLabel = records.map { if case .integer(let v) = $0.label { v } else { 0 } }.max()!
            if classCount == nil, maxLabel >= maxClasses {
                let line = records.first { $0.label == .integer(maxLabel) }!.line
                throw DatasetError.invalidLine(file, line: line, reason: "label \(maxLabel) is a class index that makes "
                    + "\(maxLabel.magnitude + 1) classes (at most \(maxClasses)); give the class names with --classnames")
            }
            let count = classCount ?? (maxLabel + 1)
            classIDs = (0..<count).map(String.init)
            indexOf = { r in
                guard case .integer(let v) = r.label else { return 0 }
                guard v < count else {
                    throw DatasetError.labelOutOfRange(file, line: r.line, label: v, classCount: count)
                }
                return v
            }
        } else {
            let labels = Set(records.map { if case .string(let s) = $0.label { s } else { "" } })
            classIDs = labels.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            let index = Dictionary(uniqueKeysWithValues: classIDs.enumerated().map { ($1, $0) })
            indexOf = { r in if case .string(let s) = r.label { index[s]! } else { 0 } }
        }
        var items: [Item] = []
        items.reserveCapacity(records.count)
        for r in records {
            let location: InputEntry.Location
            if RemoteFile.isRemote(r.path) {
                guard let url = URL(string: r.path), url.host != nil else {
                    throw DatasetError.invalidLine(file, line: r.line, reason: "\(r.path) is not a valid URL")
                }
                location = .remote(url)
            } else if r.path.lowercased().hasPrefix("file://") {
                // A file: URL (RFC 8089, percent-encoded) names a local file.
                guard let url = URL(string: r.path), url.isFileURL, url.host == nil || url.host == "" || url.host == "localhost",
                      !url.path.isEmpty else {
                    throw DatasetError.invalidLine(file, line: r.line, reason: "\(r.path) is not a valid file: URL "
                                                   + "(file:///absolute/path)")
                }
                location = .file(URL(fileURLWithPath: url.path).standardizedFileURL)
            } else if let scheme = r.path.range(of: "^[A-Za-z][A-Za-z0-9+.-]*://", options: .regularExpression) {
                throw DatasetError.invalidLine(file, line: r.line, reason: "\(r.path): a \(r.path[scheme].dropLast(3)) "
                                               + "URL; paths are files, file: URLs or http(s) URLs")
            } else if r.path.hasPrefix("/") {
                location = .file(URL(fileURLWithPath: r.path).standardizedFileURL)
            } else {
                location = .file(URL(fileURLWithPath: r.path, relativeTo: directory).absoluteURL.standardizedFileURL)
            }
            items.append(Item(image: r.path, entry: InputEntry(name: r.path, location: location, shardKey: r.path,
                                                               explicit: true),
                              trueClass: try indexOf(r)))
        }
        var dataset = EvalDataset(layout: layout, classIDs: classIDs, integerLabels: integers, items: items)
        var firstIndex: [String: Int] = [:]
        for (k, item) in items.enumerated() {
            if let j = firstIndex[item.location] {
                dataset.repeatedImages.append(RepeatedImage(line: records[k].line, firstLine: records[j].line,
                                                            image: item.image,
                                                            otherClass: item.trueClass != items[j].trueClass))
            } else {
                firstIndex[item.location] = k
            }
        }
        return dataset
    }

    /// The records of a CSV manifest (RFC 4180). Blank lines are skipped; a first record `path,label` is a header.
    static func csvRecords(_ text: String, file: String) throws -> [Record] {
        var rows: [(line: Int, fields: [String])] = []
        var fields: [String] = []
        var field = String.UnicodeScalarView()
        var line = 1, recordLine = 1
        var inQuotes = false, wasQuoted = false, quoteLine = 1
        var scalars = Array(text.unicodeScalars)
        if scalars.first == "\u{FEFF}" { scalars.removeFirst() }
        func endRecord() {
            fields.append(String(field))
            field = String.UnicodeScalarView()
            // A blank line is no record.
            if !(fields.count == 1 && fields[0].isEmpty && !wasQuoted) { rows.append((recordLine, fields)) }
            fields = []
            wasQuoted = false
        }
        var i = 0
        while i < scalars.count {
            let c = scalars[i]
            if inQuotes {
                if c == "\"" {
                    if i + 1 < scalars.count && scalars[i + 1] == "\"" {
                        field.append("\""); i += 1
                    } else {
                        inQuotes = false
                        // After a closing quote only a separator or a line end may follow.
                        if i + 1 < scalars.count, !["," as Unicode.Scalar, "\n", "\r"].contains(scalars[i + 1]) {
                            throw DatasetError.invalidLine(file, line: line, reason: "a character after the closing "
                                                           + "quote of a field (RFC 4180: a quote inside a quoted field is written \"\")")
                        }
                    }
                } else {
                    if c == "\n" { line += 1 }
                    field.append(c)
                }
            } else {
                switch c {
                case ",":
                    fields.append(String(field))
                    field = String.UnicodeScalarView()
                case "\r" where i + 1 < scalars.count && scalars[i + 1] == "\n":
                    break
                case "\n", "\r":
                    endRecord()
                    line += 1
                    recordLine = line
                case "\"":
                    guard field.isEmpty else {
                        throw DatasetError.invalidLine(file, line: line, reason: "a quote inside an unquoted field "
                                                       + "(RFC 4180: quote the whole field and write the quote as \"\")")
                    }
                    inQuotes = true
                    wasQuoted = true
                    quoteLine = line
                default:
                    field.append(c)
                }
            }
            i += 1
        }
        if inQuotes {
            throw DatasetError.invalidLine(file, line: quoteLine, reason: "a quoted field is not closed")
        }
        if !field.isEmpty || !fields.isEmpty || wasQuoted { endRecord() }
        // "3" and " 3" (written after ", ") are both class 3: read as names, " 3" would sort apart from "3" and
        // " 10" before " 2", and --classnames would name the wrong classes without a word.
        func integerText(_ label: String) -> String { label.trimmingCharacters(in: [" ", "\t"]) }
        if let first = rows.first {
            let header = first.fields.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            if header == ["path", "label"] {
                rows.removeFirst()
            } else if header == ["label", "path"] {
                // The header names the columns: label first.
                rows.removeFirst()
                rows = rows.map { row in (row.line, row.fields.count == 2 ? [row.fields[1], row.fields[0]] : row.fields) }
            } else if rows.count > 1, first.fields.count == 2, !Self.isPlainInteger(integerText(first.fields[1])),
                      rows.dropFirst().allSatisfy({ $0.fields.count == 2 && Self.isPlainInteger(integerText($0.fields[1])) }) {
                // Read as a record, "filename,class" would be an image that fails and a class of its own.
                throw DatasetError.invalidLine(file, line: first.line, reason: "\"\(Self.abridged(first.fields.joined(separator: ",")))\" "
                    + "looks like a header row (every other label is an integer); a header row is path,label or label,path")
            }
        }
        var records: [Record] = []
        let allIntegers = rows.allSatisfy { $0.fields.count == 2 && Self.isPlainInteger(integerText($0.fields[1])) }
        for (line, fields) in rows {
            guard fields.count == 2 else {
                throw DatasetError.invalidLine(file, line: line, reason: "\(fields.count) field\(fields.count == 1 ? "" : "s"), "
                                               + "expected 2 (path,label)")
            }
            guard !fields[0].isEmpty else { throw DatasetError.invalidLine(file, line: line, reason: "the path is empty") }
            guard !fields[1].isEmpty else { throw DatasetError.invalidLine(file, line: line, reason: "the label is empty") }
            if allIntegers {
                guard let value = Int(integerText(fields[1])) else {
                    throw DatasetError.invalidLine(file, line: line, reason: "label \(Self.abridged(fields[1])) is too large for a class index")
                }
                records.append(Record(line: line, path: fields[0], label: .integer(value)))
            } else {
                records.append(Record(line: line, path: fields[0], label: .string(fields[1])))
            }
        }
        return records
    }

    /// `text` for a message: at most 40 characters, longer ones cut with "…" and their length.
    static func abridged(_ text: String) -> String {
        text.count <= 40 ? text : "\(text.prefix(32))… (\(text.count) characters)"
    }

    /// The 1-based line of the first byte sequence of `data` that is not UTF-8.
    static func firstInvalidUTF8Line(_ data: Data) -> Int {
        var line = 1, start = data.startIndex
        while start < data.endIndex {
            let end = data[start...].firstIndex(of: 0x0A) ?? data.endIndex
            if String(validating: data[start..<end], as: UTF8.self) == nil { return line }
            line += 1
            start = end < data.endIndex ? data.index(after: end) : end
        }
        return line
    }

    /// "0", "17", "007": ASCII digits only (no sign, space or decimal point).
    static func isPlainInteger(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }

    private struct JSONLine: Decodable {
        let path: String
        let label: JSONLabel
    }

    private enum JSONLabel: Decodable {
        case string(String)
        case integer(Int)
        case other

        init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let s = try? container.decode(String.self) { self = .string(s); return }
            if let d = try? container.decode(Double.self) {
                // JSON integers only: 3 is a class index, 3.5 (or 3.0, written as a float) is not.
                if let i = try? container.decode(Int.self), Double(i) == d { self = .integer(i); return }
            }
            self = .other
        }
    }

    /// The records of a JSONL manifest: one object per non-blank line.
    static func jsonlRecords(_ text: String, file: String) throws -> [Record] {
        var records: [Record] = []
        let decoder = JSONDecoder()
        for (i, raw) in text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var scalars = String.UnicodeScalarView(raw)
            if scalars.last == "\r" { scalars.removeLast() }
            if i == 0 && scalars.first == "\u{FEFF}" { scalars.removeFirst() }
            let lineText = String(scalars)
            if lineText.unicodeScalars.allSatisfy(\.properties.isWhitespace) { continue }
            let line = i + 1
            let object: JSONLine
            do {
                object = try decoder.decode(JSONLine.self, from: Data(lineText.utf8))
            } catch DecodingError.keyNotFound(let key, _) {
                throw DatasetError.invalidLine(file, line: line, reason: "no \"\(key.stringValue)\" (each line is "
                                               + "{\"path\": ..., \"label\": ...})")
            } catch DecodingError.typeMismatch(_, let context) {
                let key = context.codingPath.first?.stringValue ?? "the line"
                throw DatasetError.invalidLine(file, line: line, reason: key == "path" ? "\"path\" is not a string"
                                               : "not a JSON object {\"path\": ..., \"label\": ...}")
            } catch {
                throw DatasetError.invalidLine(file, line: line, reason: "not valid JSON (each line is one object "
                                               + "{\"path\": ..., \"label\": ...})")
            }
            guard !object.path.isEmpty else { throw DatasetError.invalidLine(file, line: line, reason: "the path is empty") }
            switch object.label {
            case .string(let s):
                guard !s.isEmpty else { throw DatasetError.invalidLine(file, line: line, reason: "the label is empty") }
                records.append(Record(line: line, path: object.path, label: .string(s)))
            case .integer(let v):
                guard v >= 0 else {
                    throw DatasetError.invalidLine(file, line: line, reason: "label \(v) is negative; a class index is 0 or more")
                }
                records.append(Record(line: line, path: object.path, label: .integer(v)))
            case .other:
                throw DatasetError.invalidLine(file, line: line, reason: "\"label\" is neither a string nor an integer")
            }
        }
        return records
    }
}

extension EvalDataset.Label {
    var shown: String {
        switch self {
        case .string(let s): return "\"\(EvalDataset.abridged(s))\""
        case .integer(let v): return "\(v)"
        }
    }
}

/// Display names for the classes of a dataset (`--classnames`): one per class, in class-index order.
///
/// Display names key `per_class`, so they must be distinct. A user's list with a repeated name is an error; a
/// built-in set (`builtIn`) is used as shipped: OpenAI's ImageNet names repeat "missile" (classes 657 and 744) and
/// "sunglasses" (836 and 837), so a repeated name's later occurrences are shown as "name (#index)" ("missile
/// (#744)"). The prompts keep the names as given (both classes get the same text embedding, as in the reference
/// recipe).
///
/// - Returns: `names` (made distinct for a built-in set) when given, else the dataset's class ids.
/// - Throws: `DatasetError.classNamesCount` when the counts differ, `.duplicateClassName` when two classes of a
///   user's list share a name.
public func displayNames(_ names: [String]?, for dataset: EvalDataset, source: String? = nil,
                         builtIn: Bool = false) throws -> [String] {
    guard let names else { return dataset.classIDs }
    guard names.count == dataset.classIDs.count else {
        throw DatasetError.classNamesCount(source: source ?? "--classnames", names: names.count,
                                           classes: dataset.classIDs.count, layout: dataset.layout)
    }
    var seen: [String: Int] = [:]
    var result = names
    for (i, name) in names.enumerated() {
        if let j = seen[name] {
            guard builtIn else {
                throw DatasetError.duplicateClassName(source: source ?? "--classnames", name: name, first: j, second: i)
            }
            result[i] = "\(name) (#\(i))"
        } else {
            seen[name] = i
        }
    }
    if builtIn, Set(result).count != result.count {
        // "a (#3)" given as a name of its own: fall back to the index for every repeated one.
        for i in result.indices where result[i] != names[i] { result[i] = "#\(i)" }
    }
    return result
}

/// Why a dataset cannot be evaluated. Every message names the file or folder, and a manifest's line.
public enum DatasetError: Error, LocalizedError, CustomStringConvertible, Sendable, Equatable {
    /// The dataset path does not exist or cannot be read (`reason` in the system's words).
    case notFound(String, reason: String)
    /// A file that is neither `.csv` nor `.jsonl`.
    case unknownFormat(String)
    /// An ImageFolder root without any (non-hidden) sub-folder.
    case noClasses(String)
    /// A manifest without any record.
    case empty(String)
    /// A manifest record that cannot be used (1-based line).
    case invalidLine(String, line: Int, reason: String)
    /// An integer label outside 0..<classCount.
    case labelOutOfRange(String, line: Int, label: Int, classCount: Int)
    /// `--classnames` gives another number of names than the dataset has classes.
    case classNamesCount(source: String, names: Int, classes: Int, layout: EvalDataset.Layout)
    /// Two classes with the same display name (0-based class indices).
    case duplicateClassName(source: String, name: String, first: Int, second: Int)

    public var description: String {
        switch self {
        case .notFound(let path, let reason):
            return "\(path): cannot read the dataset (\(reason))"
        case .unknownFormat(let path):
            return "\(path): not a dataset: give an ImageFolder folder (one sub-folder per class), a .csv or a .jsonl manifest"
        case .noClasses(let path):
            return "\(path): no class folders (an ImageFolder dataset has one sub-folder per class; hidden folders are not classes)"
        case .empty(let path):
            return "\(path): the manifest has no records"
        case .invalidLine(let path, let line, let reason):
            return "\(path):\(line): \(reason)"
        case .labelOutOfRange(let path, let line, let label, let count):
            return "\(path):\(line): label \(label) is out of range: --classnames gives \(count) class\(count == 1 ? "" : "es") "
                + "(class indices 0 to \(count - 1))"
        case .classNamesCount(let source, let names, let classes, let layout):
            let what = layout == .imageFolder ? "class folders" : "classes (distinct labels)"
            return "\(source) gives \(names) class name\(names == 1 ? "" : "s") but the dataset has \(classes) \(what)"
        case .duplicateClassName(let source, let name, let first, let second):
            return "\(source): classes #\(first) and #\(second) have the same name \"\(name)\" (names must be distinct: "
                + "they key per_class)"
        }
    }

    public var errorDescription: String? { description }
}
