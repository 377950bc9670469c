import Foundation
import ZeroShot
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The only way the command writes to its standard streams: `write(2)` with every byte accounted for.
///
/// Standard output: a failed write (disk full, I/O error) throws `StandardOutput.WriteError`, which ends the
/// command with a one-line error and exit code 1. A closed pipe (`zeroshot ... | head`: the reader has what it
/// wants) ends the process quietly the way Unix tools end, by SIGPIPE (a shell reports 141). SIGPIPE is ignored
/// while the command runs (`ignoreBrokenPipeSignal`), so that the network code never dies of it; the closed pipe
/// is seen here as EPIPE.
///
/// Standard error: best effort; a failed write there has nowhere to be reported and does not stop the command.
enum StandardStreams {
    struct WriteError: LocalizedError, CustomStringConvertible {
        let reason: String
        var description: String { "cannot write to standard output: \(reason)" }
        var errorDescription: String? { description }
    }

    static func ignoreBrokenPipeSignal() {
        signal(SIGPIPE, SIG_IGN)
    }

    /// Puts /dev/null on standard input, output or error when the command was started with it closed
    /// (`zeroshot ... >&-`). Otherwise the next file the process opens (a model file, /proc/loadavg, a download)
    /// takes the number: output and messages would go to that file, or fail with whatever error it gives
    /// ("Invalid argument"). Standard output gets /dev/null opened read-only, so that every write to it fails with
    /// "Bad file descriptor" and the command ends with that error, as it does for any output that cannot be
    /// written; standard error gets it write-only, so that messages are dropped.
    static func reserveClosedDescriptors() {
        for (fd, flags) in [(STDIN_FILENO, O_RDONLY), (STDOUT_FILENO, O_RDONLY), (STDERR_FILENO, O_WRONLY)] {
            guard fcntl(fd, F_GETFD) == -1, errno == EBADF else { continue }
            let null = open("/dev/null", flags)
            if null >= 0 && null != fd {
                dup2(null, fd)
                close(null)
            }
        }
    }

    /// Writes `text` to standard output.
    /// - Throws: `WriteError` with the system's reason ("No space left on device").
    static func out(_ text: String) throws {
        if let errorNumber = writeAll(STDOUT_FILENO, text) {
            if errorNumber == EPIPE { endByBrokenPipe() }
            throw WriteError(reason: String(cString: strerror(errorNumber)))
        }
    }

    /// Writes `text` to standard error, ignoring failures.
    static func err(_ text: String) {
        _ = writeAll(STDERR_FILENO, text)
    }

    /// `nil` when every byte was written, else the `errno` of the failed `write`.
    private static func writeAll(_ fd: Int32, _ text: String) -> Int32? {
        var text = text
        return text.withUTF8 { bytes -> Int32? in
            var offset = 0
            while offset < bytes.count {
                let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                offset += n
            }
            return nil
        }
    }

    /// Ends the process as the default SIGPIPE action does, without a message.
    private static func endByBrokenPipe() -> Never {
        signal(SIGPIPE, SIG_DFL)
        raise(SIGPIPE)
        _exit(128 + SIGPIPE)
    }
}

/// JSON text of the command's output (values are already-rendered JSON text), as the library writes it.
typealias JSON = JSONText

/// CSV fields of the command's output.
enum CSV {
    /// RFC 4180 quoting: fields with a comma, quote or line break are quoted, quotes doubled.
    static func field(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
