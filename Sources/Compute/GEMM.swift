// The single matrix-multiply entry point of the package. Everything else in Compute and CLIP calls `sgemm`;
// swapping the backend (OpenBLAS `cblas_sgemm`, Accelerate) means changing only this file.
import CDNNL

/// Errors from the compute layer.
public enum ComputeError: Error, CustomStringConvertible, Equatable {
    /// The GEMM backend reported a failure (status code from oneDNN).
    case gemmFailed(status: Int, m: Int, n: Int, k: Int)

    public var description: String {
        switch self {
        case .gemmFailed(let status, let m, let n, let k):
            return "matrix multiply \(m)x\(k) · \(k)x\(n) failed in oneDNN (dnnl_status_t \(status))"
        }
    }
}

/// Row-major single-precision GEMM: `C = alpha · op(A) · op(B) + beta · C`, with `op(A)` of shape `[m, k]`,
/// `op(B)` of shape `[k, n]` and `C` of shape `[m, n]`; `lda`, `ldb`, `ldc` are row strides in elements.
/// `transA`/`transB` mean the stored matrix is the transpose (e.g. a PyTorch `Linear` weight `[out, in]` is
/// used as `B` with `transB: true`). Backend: oneDNN `dnnl_sgemm` (row-major).
/// - Throws: `ComputeError.gemmFailed` when the backend rejects the call.
@inlinable
public func sgemm(
    transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
    alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int,
    beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
) throws {
    if m == 0 || n == 0 { return }
    let status = dnnl_sgemm(
        transA ? CChar(UInt8(ascii: "T")) : CChar(UInt8(ascii: "N")),
        transB ? CChar(UInt8(ascii: "T")) : CChar(UInt8(ascii: "N")),
        dnnl_dim_t(m), dnnl_dim_t(n), dnnl_dim_t(k),
        alpha, a, dnnl_dim_t(lda), b, dnnl_dim_t(ldb), beta, c, dnnl_dim_t(ldc))
    guard status == dnnl_success else {
        throw ComputeError.gemmFailed(status: Int(status.rawValue), m: m, n: n, k: k)
    }
}

/// Row-major integer GEMM: `C[m, n] = (A[m, k] - aOffset) · (B[n, k] - bOffset)ᵀ` with `A` uint8, `B` int8
/// (stored `[n, k]`, as a Linear weight) and `C` int32. Backend: oneDNN `dnnl_gemm_u8s8s32`.
///
/// On CPUs without VNNI the backend multiplies pairs of bytes into 16-bit sums, which saturate past 32,767:
/// callers keep `|B| <= 63` so that two products of a uint8 and an int8 never exceed it.
/// - Throws: `ComputeError.gemmFailed` when the backend rejects the call.
public func gemmU8S8S32(
    m: Int, n: Int, k: Int, a: UnsafePointer<UInt8>, lda: Int, aOffset: UInt8,
    b: UnsafePointer<Int8>, ldb: Int, c: UnsafeMutablePointer<Int32>, ldc: Int
) throws {
    if m == 0 || n == 0 { return }
    var zero: Int32 = 0
    let status = dnnl_gemm_u8s8s32(
        CChar(UInt8(ascii: "N")), CChar(UInt8(ascii: "T")), CChar(UInt8(ascii: "F")),
        dnnl_dim_t(m), dnnl_dim_t(n), dnnl_dim_t(k), 1, a, dnnl_dim_t(lda), aOffset,
        b, dnnl_dim_t(ldb), 0, 0, c, dnnl_dim_t(ldc), &zero)
    guard status == dnnl_success else {
        throw ComputeError.gemmFailed(status: Int(status.rawValue), m: m, n: n, k: k)
    }
}
