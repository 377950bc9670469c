// Stand-in for the Inputs target of the design contract (walker, shard, loader, SHA-256) until it lands; same names
// and behaviour as the contract states them. Deleted when the Inputs target is merged.
import Foundation
import ZeroShot
#if canImport(Glibc)
import Glibc
#endif

public struct Shard: Sendable, Equatable, CustomStringConvertible {
    public let k: Int
    public let n: Int

    public init(k: Int, n: Int) throws {
        guard n >= 1, k >= 0, k < n else { throw InputProblem(path: "\(k)/\(n)", reason: "a shard is K/N with 0 <= K < N") }
        self.k = k
        self.n = n
    }

    public init(parsing text: String) throws {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let k = Int(parts[0]), let n = Int(parts[1]) else {
            throw InputProblem(path: text, reason: "a shard is K/N (0-based K, 0 <= K < N)")
        }
        try self.init(k: k, n: n)
    }

    public func contains(key: String) -> Bool {
        let digest = SHA256.hash(Data(key.utf8))
        let value = digest.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return value % UInt64(n) == UInt64(k)
    }

    public var description: String { "\(k)/\(n)" }
}

public enum SHA256 {
    public static func hash(_ bytes: Data) -> [UInt8] {
        var digest = StandInDigest()
        digest.update(bytes)
        return digest.finalize()
    }

    public static func hex(_ bytes: Data) -> String { hash(bytes).map { String(format: "%02x", $0) }.joined() }
}

public struct InputEntry: Sendable, Equatable {
    public enum Location: Sendable, Equatable { case file(URL), remote(URL) }
    public var name: String
    public var location: Location
    public var shardKey: String
    public var explicit: Bool
}

public struct InputProblem: Error, LocalizedError, CustomStringConvertible, Equatable {
    public let path: String
    public let reason: String
    public var description: String { "\(path): \(reason)" }
    public var errorDescription: String? { description }
}

public struct InputWalk: Sendable {
    public var entries: [InputEntry] = []
    public var skippedNonImages = 0
    public var problems: [InputProblem] = []
}

public struct InputWalker: Sendable {
    public let exclude: [String]
    public let shard: Shard?

    public init(exclude: [String] = [], shard: Shard? = nil) {
        self.exclude = exclude
        self.shard = shard
    }

    public func entries(_ arguments: [String]) -> InputWalk {
        var walk = InputWalk()
        for argument in arguments {
            if argument.hasPrefix("http://") || argument.hasPrefix("https://"), let url = URL(string: argument) {
                add(InputEntry(name: argument, location: .remote(url), shardKey: argument, explicit: true), to: &walk)
                continue
            }
            var st = stat()
            guard stat(argument, &st) == 0 else {
                walk.problems.append(InputProblem(path: argument, reason: String(cString: strerror(errno))))
                continue
            }
            if st.st_mode & S_IFMT == S_IFDIR {
                walkDirectory(argument, relative: "", chain: [(UInt64(st.st_dev), UInt64(st.st_ino))], into: &walk)
            } else {
                let name = (argument as NSString).lastPathComponent
                add(InputEntry(name: argument, location: .file(URL(fileURLWithPath: argument)), shardKey: name, explicit: true),
                    to: &walk)
            }
        }
        return walk
    }

    private func add(_ entry: InputEntry, to walk: inout InputWalk) {
        if let shard, !shard.contains(key: entry.shardKey) { return }
        walk.entries.append(entry)
    }

    private func excluded(name: String, relative: String) -> Bool {
        exclude.contains { glob in
            fnmatch(glob, glob.contains("/") ? relative : name, 0) == 0
        }
    }

    private func walkDirectory(_ path: String, relative: String, chain: [(UInt64, UInt64)], into walk: inout InputWalk) {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: path)
        } catch {
            walk.problems.append(InputProblem(path: path, reason: "cannot read the folder: \(String(cString: strerror(EACCES)))"))
            return
        }
        for name in names.sorted(by: { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }) where !name.hasPrefix(".") {
            let child = path.hasSuffix("/") ? path + name : path + "/" + name
            let childRelative = relative.isEmpty ? name : relative + "/" + name
            if excluded(name: name, relative: childRelative) { continue }
            var st = stat()
            guard stat(child, &st) == 0 else {
                walk.problems.append(InputProblem(path: child, reason: String(cString: strerror(errno))))
                continue
            }
            if st.st_mode & S_IFMT == S_IFDIR {
                let id = (UInt64(st.st_dev), UInt64(st.st_ino))
                if chain.contains(where: { $0 == id }) {
                    walk.problems.append(InputProblem(path: child, reason: "symbolic link loop (a folder that contains itself); not followed"))
                    continue
                }
                walkDirectory(child, relative: childRelative, chain: chain + [id], into: &walk)
            } else if st.st_mode & S_IFMT == S_IFREG {
                guard let handle = FileHandle(forReadingAtPath: child) else {
                    walk.problems.append(InputProblem(path: child, reason: "cannot be opened"))
                    continue
                }
                let head = (try? handle.read(upToCount: 16)) ?? Data()
                try? handle.close()
                guard head.withUnsafeBytes({ ImageFormat.detect($0) }) != nil else {
                    walk.skippedNonImages += 1
                    continue
                }
                add(InputEntry(name: child, location: .file(URL(fileURLWithPath: child)), shardKey: childRelative, explicit: false),
                    to: &walk)
            }
        }
    }
}

public struct LoadedInput: Sendable {
    public var bytes: Data
    public var size: Int
    public var mtime: Double?
}

public struct InputLoader: Sendable {
    public let maxDownloadBytes: Int
    public init(maxDownloadBytes: Int = 50_000_000) { self.maxDownloadBytes = maxDownloadBytes }

    public func load(_ entry: InputEntry) throws -> LoadedInput {
        switch entry.location {
        case .remote(let url):
            throw InputProblem(path: url.absoluteString, reason: "URLs are not supported yet")
        case .file(let url):
            let fd = open(url.path, O_RDONLY)
            guard fd >= 0 else { throw InputProblem(path: entry.name, reason: String(cString: strerror(errno))) }
            defer { close(fd) }
            var before = stat()
            fstat(fd, &before)
            var data = Data(count: Int(before.st_size))
            var offset = 0
            let readError: Int32? = data.withUnsafeMutableBytes { buffer -> Int32? in
                while offset < buffer.count {
                    let n = read(fd, buffer.baseAddress! + offset, buffer.count - offset)
                    if n < 0 { if errno == EINTR { continue }; return errno }
                    if n == 0 { break }
                    offset += n
                }
                return nil
            }
            if let readError { throw InputProblem(path: entry.name, reason: String(cString: strerror(readError))) }
            var after = stat()
            fstat(fd, &after)
            let mtime = { (s: stat) in Double(s.st_mtim.tv_sec) + Double(s.st_mtim.tv_nsec) / 1e9 }
            guard offset == Int(before.st_size), after.st_size == before.st_size, mtime(after) == mtime(before) else {
                throw InputProblem(path: entry.name, reason: "changed while being read")
            }
            return LoadedInput(bytes: data, size: offset, mtime: mtime(after))
        }
    }
}

struct StandInDigest {
    private var state: [UInt32] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]
    private var pending: [UInt8] = []
    private var length: UInt64 = 0
    private static let k: [UInt32] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ]

    mutating func update(_ data: Data) {
        length &+= UInt64(data.count)
        pending.append(contentsOf: data)
        var offset = 0
        while pending.count - offset >= 64 {
            pending.withUnsafeBufferPointer { block(UnsafeBufferPointer(rebasing: $0[offset..<(offset + 64)])) }
            offset += 64
        }
        pending.removeFirst(offset)
    }

    mutating func finalize() -> [UInt8] {
        let bits = length &* 8
        var tail: [UInt8] = [0x80]
        while (pending.count + tail.count) % 64 != 56 { tail.append(0) }
        for shift in stride(from: 56, through: 0, by: -8) { tail.append(UInt8(truncatingIfNeeded: bits >> UInt64(shift))) }
        update(Data(tail))
        return state.flatMap { word in [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: word >> UInt32($0)) } }
    }

    private mutating func block(_ bytes: UnsafeBufferPointer<UInt8>) {
        var w = [UInt32](repeating: 0, count: 64)
        for i in 0..<16 {
            w[i] = UInt32(bytes[4 * i]) << 24 | UInt32(bytes[4 * i + 1]) << 16 | UInt32(bytes[4 * i + 2]) << 8
                | UInt32(bytes[4 * i + 3])
        }
        func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { x >> n | x << (32 - n) }
        for i in 16..<64 {
            let s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3)
            let s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10)
            w[i] = w[i - 16] &+ s0 &+ w[i - 7] &+ s1
        }
        var a = state[0], b = state[1], c = state[2], d = state[3], e = state[4], f = state[5], g = state[6], h = state[7]
        for i in 0..<64 {
            let s1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)
            let t1 = h &+ s1 &+ ((e & f) ^ (~e & g)) &+ Self.k[i] &+ w[i]
            let s0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)
            let t2 = s0 &+ ((a & b) ^ (a & c) ^ (b & c))
            h = g; g = f; f = e; e = d &+ t1; d = c; c = b; b = a; a = t1 &+ t2
        }
        state[0] &+= a; state[1] &+= b; state[2] &+= c; state[3] &+= d
        state[4] &+= e; state[5] &+= f; state[6] &+= g; state[7] &+= h
    }
}
