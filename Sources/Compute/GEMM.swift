// The single matrix-multiply entry point of the package. Everything else in Compute and CLIP calls `sgemm`;
// swapping the backend (OpenBLAS `cblas_sgemm`, Accelerate) means changing only this file.
import CDNNL
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// oneDNN, opened at first use.
///
/// oneDNN's CPU runtime is OpenMP (libgomp), whose threads by default spin for about 300,000 iterations after each
/// parallel region. On a machine where other processes also want the cores, those spinning threads hold back the
/// thread that has work, and a GEMM sequence can run ten times slower. libgomp reads its settings once, when it is
/// loaded, so the library is opened here, after setting `GOMP_SPINCOUNT=10000` unless the user set
/// `GOMP_SPINCOUNT` or `OMP_WAIT_POLICY` (measured: the same speed on an idle machine; with 0, or
/// `OMP_WAIT_POLICY=passive`, ViT-B/32 batch 1 ran 30% slower there). Threads that wait for a core another process
/// keeps busy still hold back every product: `ComputeThreads.adaptsToLoad` runs on fewer threads then.
struct OneDNN: @unchecked Sendable {
    typealias SGEMM = @convention(c) (CChar, CChar, dnnl_dim_t, dnnl_dim_t, dnnl_dim_t, Float,
                                      UnsafePointer<Float>?, dnnl_dim_t, UnsafePointer<Float>?, dnnl_dim_t, Float,
                                      UnsafeMutablePointer<Float>?, dnnl_dim_t) -> dnnl_status_t
    typealias GEMMU8S8S32 = @convention(c) (CChar, CChar, CChar, dnnl_dim_t, dnnl_dim_t, dnnl_dim_t, Float,
                                            UnsafePointer<UInt8>?, dnnl_dim_t, UInt8, UnsafePointer<Int8>?,
                                            dnnl_dim_t, Int8, Float, UnsafeMutablePointer<Int32>?, dnnl_dim_t,
                                            UnsafePointer<Int32>?) -> dnnl_status_t
    let sgemm: SGEMM
    let gemmU8S8S32: GEMMU8S8S32

    static let shared: Result<OneDNN, ComputeError> = open()

    static func functions() throws -> OneDNN { try shared.get() }

    private static func open() -> Result<OneDNN, ComputeError> {
        if getenv("GOMP_SPINCOUNT") == nil && getenv("OMP_WAIT_POLICY") == nil {
            setenv("GOMP_SPINCOUNT", "10000", 0)
        }
        let names = ["libdnnl.so.2", "libdnnl.so.3", "libdnnl.so"]
        guard let handle = names.lazy.compactMap({ dlopen($0, RTLD_NOW | RTLD_GLOBAL) }).first else {
            return .failure(.backendUnavailable("oneDNN (libdnnl.so.2) could not be loaded; install the libdnnl2 package"))
        }
        guard let s = dlsym(handle, "dnnl_sgemm"), let q = dlsym(handle, "dnnl_gemm_u8s8s32") else {
            return .failure(.backendUnavailable("the loaded oneDNN library lacks dnnl_sgemm or dnnl_gemm_u8s8s32"))
        }
        return .success(OneDNN(sgemm: unsafeBitCast(s, to: SGEMM.self), gemmU8S8S32: unsafeBitCast(q, to: GEMMU8S8S32.self)))
    }
}

/// Errors from the compute layer.
public enum ComputeError: Error, LocalizedError, CustomStringConvertible, Equatable {
    /// The GEMM backend reported a failure (status code from oneDNN).
    case gemmFailed(status: Int, m: Int, n: Int, k: Int)
    /// The GEMM library could not be loaded.
    case backendUnavailable(String)

    public var description: String {
        switch self {
        case .gemmFailed(let status, let m, let n, let k):
            return "matrix multiply \(m)x\(k) · \(k)x\(n) failed in oneDNN (dnnl_status_t \(status))"
        case .backendUnavailable(let reason):
            return reason
        }
    }
}

/// Row-major single-precision GEMM: `C = alpha · op(A) · op(B) + beta · C`, with `op(A)` of shape `[m, k]`,
/// `op(B)` of shape `[k, n]` and `C` of shape `[m, n]`; `lda`, `ldb`, `ldc` are row strides in elements.
/// `transA`/`transB` mean the stored matrix is the transpose (e.g. a PyTorch `Linear` weight `[out, in]` is
/// used as `B` with `transB: true`). Backend: oneDNN `dnnl_sgemm` (row-major).
/// - Throws: `ComputeError.gemmFailed` when the backend rejects the call.
public func sgemm(
    transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
    alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int,
    beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
) throws {
    if m == 0 || n == 0 { return }
    let sgemm = try OneDNN.functions().sgemm
    _ = ComputeThreads.forNextStep()
    let status = sgemm(
        transA ? CChar(UInt8(ascii: "T")) : CChar(UInt8(ascii: "N")),
        transB ? CChar(UInt8(ascii: "T")) : CChar(UInt8(ascii: "N")),
        dnnl_dim_t(m), dnnl_dim_t(n), dnnl_dim_t(k),
        alpha, a, dnnl_dim_t(lda), b, dnnl_dim_t(ldb), beta, c, dnnl_dim_t(ldc))
    guard status == dnnl_success else {
        throw ComputeError.gemmFailed(status: Int(status.rawValue), m: m, n: n, k: k)
    }
}

/// Row-major integer GEMM: `C[m, n] = (op(A)[m, k] - aOffset) · (B[n, k])ᵀ` with `A` uint8 (stored `[m, k]`, or
/// `[k, m]` with `transA`), `B` int8 (stored `[n, k]`, as a Linear weight) and `C` int32.
/// Backend: oneDNN `dnnl_gemm_u8s8s32`.
///
/// On CPUs without VNNI the backend multiplies pairs of bytes into 16-bit sums, which saturate past 32,767:
/// callers keep `|B| <= 63` so that two products of a uint8 and an int8 never exceed it.
/// - Throws: `ComputeError.gemmFailed` when the backend rejects the call.
public func gemmU8S8S32(
    transA: Bool = false, m: Int, n: Int, k: Int, a: UnsafePointer<UInt8>, lda: Int, aOffset: UInt8,
    b: UnsafePointer<Int8>, ldb: Int, c: UnsafeMutablePointer<Int32>, ldc: Int
) throws {
    if m == 0 || n == 0 { return }
    var zero: Int32 = 0
    let gemm = try OneDNN.functions().gemmU8S8S32
    _ = ComputeThreads.forNextStep()
    let status = gemm(
        transA ? CChar(UInt8(ascii: "T")) : CChar(UInt8(ascii: "N")), CChar(UInt8(ascii: "T")), CChar(UInt8(ascii: "F")),
        dnnl_dim_t(m), dnnl_dim_t(n), dnnl_dim_t(k), 1, a, dnnl_dim_t(lda), aOffset,
        b, dnnl_dim_t(ldb), 0, 0, c, dnnl_dim_t(ldc), &zero)
    guard status == dnnl_success else {
        throw ComputeError.gemmFailed(status: Int(status.rawValue), m: m, n: n, k: k)
    }
}

extension ComputeError {
    /// The same text as `description`, for `localizedDescription`.
    public var errorDescription: String? { description }
}
