// Which instruction set the element-wise and attention kernels (CKernels) run on.
import CKernels
import Foundation

/// The code path of the compute layer's own kernels (layer norm, bias and activation, attention, quantization):
/// the widest this CPU has, chosen at run time. Matrix products are oneDNN's, which chooses its own.
public enum KernelPath: Int, Sendable, Comparable, CaseIterable, CustomStringConvertible {
    /// Portable C.
    case portable = 0
    /// AVX2 with FMA, 8 floats per instruction.
    case avx2 = 1
    /// AVX-512F, 16 floats per instruction (the column-layout kernels; the others use AVX2).
    case avx512 = 2

    /// The path in use: the widest this CPU supports, lowered by `ZEROSHOT_KERNELS_ISA=avx2|portable` (any case)
    /// in the environment or by `limit(to:)`.
    public static var current: KernelPath { KernelPath(rawValue: Int(zs_kernels_isa())) ?? .portable }

    /// Uses no wider path than `path` from now on (`.avx512` lifts the limit) and returns the path then in use.
    /// For comparing paths on one machine; call it while no model runs.
    @discardableResult
    public static func limit(to path: KernelPath) -> KernelPath {
        KernelPath(rawValue: Int(zs_kernels_limit_isa(Int32(path.rawValue)))) ?? .portable
    }

    /// The widest path this CPU and the environment allow, whatever `limit(to:)` says.
    public static var available: KernelPath {
        let previous = current
        let widest = limit(to: .avx512)
        limit(to: previous)
        return widest
    }

    /// A warning when `ZEROSHOT_KERNELS_ISA` is set to something other than `avx512`, `avx2` or `portable` (any
    /// case), which the kernels ignore; nil otherwise.
    public static var environmentWarning: String? {
        guard let value = ProcessInfo.processInfo.environment["ZEROSHOT_KERNELS_ISA"],
              !["avx512", "avx2", "portable"].contains(value.lowercased()) else { return nil }
        return "ZEROSHOT_KERNELS_ISA=\(value) is not avx512, avx2 or portable; ignored (kernels: \(current))"
    }

    public static func < (a: KernelPath, b: KernelPath) -> Bool { a.rawValue < b.rawValue }

    public var description: String {
        switch self {
        case .portable: "portable"
        case .avx2: "avx2"
        case .avx512: "avx512"
        }
    }
}
