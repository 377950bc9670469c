// The float32 arithmetic peak of this machine, measured: the ceiling no matrix product can pass, against which
// the image tower's rate is judged (`zeroshot bench`).
import CKernels
import Dispatch

public enum ArithmeticPeak {
    /// Float32 GFLOP/s (a multiply-add counts 2) of all `ComputeThreads.count` threads running independent
    /// multiply-add chains at once on the widest FMA instructions the CPU has (AVX-512F, else AVX2+FMA, else
    /// scalar): the best of `trials` runs of about `seconds` each (wall time, threads started together on the
    /// compute layer's OpenMP team).
    public static func fmaGFLOPs(trials: Int = 5, seconds: Double = 0.05) -> Double {
        let threads = ComputeThreads.count
        // Calibrate on one thread: rounds for about `seconds`.
        var rounds = 100_000
        while true {
            let start = DispatchTime.now()
            _ = probe(rounds: rounds, seed: 0.5)
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
            if elapsed >= seconds / 4 || rounds >= 1 << 40 {
                rounds = max(1, Int(Double(rounds) * seconds / max(elapsed, 1e-9)))
                break
            }
            rounds *= 4
        }
        var best = 0.0
        var flops = [Double](repeating: 0, count: threads)
        var sinks = [Float](repeating: 0, count: threads)
        for _ in 0..<max(1, trials) {
            let start = DispatchTime.now()
            flops.withUnsafeMutableBufferPointer { flops in
                sinks.withUnsafeMutableBufferPointer { sinks in
                    let (f, s) = (UncheckedSendable(flops), UncheckedSendable(sinks))
                    ComputeThreads.parallelFor(threads) { i, _ in
                        f.value[i] = zs_fma_probe(rounds, Float(i) + 0.25, s.value.baseAddress! + i)
                    }
                }
            }
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
            best = max(best, flops.reduce(0, +) / elapsed / 1e9)
        }
        return best
    }

    /// One thread's share of the measurement: `rounds` steps of 12 multiply-add chains (chain i starts at
    /// `seed + i` and steps a = a · 0.99999 + 1e-6). Returns the floating-point operations done and the sum of
    /// the chains' last values.
    static func probe(rounds: Int, seed: Float) -> (flops: Double, sum: Float) {
        var sum: Float = 0
        let flops = zs_fma_probe(rounds, seed, &sum)
        return (flops, sum)
    }
}
