import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// glibc's malloc gives threads that allocate at the same time arenas of their own, up to 8 per core, and an arena
/// keeps the pages of freed blocks it cannot give back while live blocks sit around them. A long-running process
/// whose threads take turns with the same sizes (the server's event loops, its engine thread and the threads that
/// decode images) then spreads its blocks over many arenas, and its resident memory creeps up: `zeroshot serve`
/// classifying the same images grew by about 0.8 MiB a minute (RssAnon 70 to 89 MiB in 25 minutes; still 67 to 78
/// MiB in 10 minutes with 2 arenas), and stayed flat at 42 to 47 MiB with one arena (`Tools/bench/soak.py
/// --server`), at the same request rate. Large buffers (images, activations) are mapped and unmapped whatever the
/// arena, and the matrix products do not allocate, so one arena costs no measurable speed.
enum MallocArenas {
    /// The arenas the process may use, unless the environment sets its own (`MALLOC_ARENA_MAX`, `GLIBC_TUNABLES`).
    static let limit: Int32 = 1

    /// Sets the limit; call before threads start.
    static func limitArenas() {
        #if canImport(Glibc)
        let environment = ProcessInfo.processInfo.environment
        guard environment["MALLOC_ARENA_MAX"] == nil, environment["GLIBC_TUNABLES"] == nil else { return }
        // mallopt is in <malloc.h>, which the Glibc module does not export; M_ARENA_MAX is -8 there.
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }  // RTLD_DEFAULT
        _ = unsafeBitCast(symbol, to: Mallopt.self)(-8, limit)
        #endif
    }
}
