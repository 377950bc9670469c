import Foundation
import ZeroShot

/// Errors of an image index; each names the database file.
public enum ImageIndexError: Error, LocalizedError, CustomStringConvertible, Equatable {
    /// No file at the path (search, relabel and merge inputs must exist).
    case notFound(path: String)
    /// The path is a directory, not a database file.
    case isDirectory(path: String)
    /// The path is a FIFO, socket or device, not a database file.
    case notRegularFile(path: String)
    /// The file is not an SQLite database (its first 16 bytes are not "SQLite format 3\0").
    case notSQLite(path: String)
    /// An SQLite database that another program made: its `application_id` is not zeroshot's, or it is 0 and the
    /// database already has tables.
    case otherProgram(path: String, applicationID: Int32, tables: [String])
    /// A zeroshot index of a schema newer than this build reads.
    case newerSchema(path: String, version: Int, supported: Int)
    /// The index was made with another model than the one given.
    case modelMismatch(path: String, index: ModelIdentity, given: ModelIdentity)
    /// Two indexes of different models cannot be merged.
    case mergeModelMismatch(path: String, model: ModelIdentity, source: String, sourceModel: ModelIdentity)
    /// A merge whose source is the index itself (the same file, possibly through a link).
    case mergeIntoItself(path: String, source: String)
    /// The index has no model yet (nothing was ever indexed into it).
    case noModel(path: String)
    /// `SQLITE_FULL`: the disk (or the database's page limit) is full. The transaction in flight was rolled back;
    /// everything committed before it is kept.
    case diskFull(path: String, reason: String)
    /// Any other SQLite error, with SQLite's message.
    case database(path: String, reason: String)
    /// A stored embedding whose size is not `embedding_dim` float32 values.
    case corruptEmbedding(path: String, image: String, bytes: Int, dimension: Int)
    /// A query vector of another dimension than the stored embeddings.
    case queryDimension(path: String, query: Int, dimension: Int)

    public var description: String {
        switch self {
        case .notFound(let path):
            return "\(path): no such index (create it with zeroshot index --db \(path) FOLDER)"
        case .isDirectory(let path):
            return "\(path): a directory, not an index file; give a file path such as \(path.hasSuffix("/") ? path : path + "/")photos.db"
        case .notRegularFile(let path):
            return "\(path): not a regular file (a FIFO, socket or device), so not an index; give a file path"
        case .notSQLite(let path):
            return "\(path): not an SQLite database, so not a zeroshot index; give another --db path"
        case .otherProgram(let path, let applicationID, let tables):
            let what = applicationID != 0 ? "its application_id is \(applicationID), not zeroshot's \(ImageIndex.applicationID)"
                : "it has tables of its own (\(tables.prefix(5).joined(separator: ", ")))"
            return "\(path): an SQLite database of another program, not a zeroshot index (\(what)); it is left untouched"
        case .newerSchema(let path, let version, let supported):
            return "\(path): made by a newer zeroshot (index schema \(version); this one reads up to \(supported)); "
                + "update zeroshot to use it"
        case .modelMismatch(let path, let index, let given):
            return "\(path) was made with the model \(index), not \(given): an index is queried and updated with the "
                + "model it was made with (omit --model to use it)"
        case .mergeModelMismatch(let path, let model, let source, let sourceModel):
            return "cannot merge \(source) into \(path): \(source) was made with the model \(sourceModel), \(path) with "
                + "\(model); only indexes of the same model merge"
        case .mergeIntoItself(let path, let source):
            return "cannot merge \(source) into \(path): it is the same file; give the other indexes"
        case .noModel(let path):
            return "\(path): the index is empty (no model recorded yet); index images into it first"
        case .diskFull(let path, let reason):
            return "\(path): \(reason) (no room on the disk, or the database's page limit reached); the batch in flight "
                + "was rolled back, the images committed before it are kept, and a re-run resumes"
        case .database(let path, let reason):
            return "\(path): \(reason)"
        case .corruptEmbedding(let path, let image, let bytes, let dimension):
            return "\(path): the stored embedding of \(image) has \(bytes) bytes, not \(dimension) float32 values"
        case .queryDimension(let path, let query, let dimension):
            return "\(path): the query has \(query) values but the stored embeddings \(dimension)"
        }
    }

    public var errorDescription: String? { description }
}
