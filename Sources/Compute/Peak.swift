// The float32 arithmetic peak of this machine, measured: the ceiling no float32 matrix product can pass, against
// which the image tower's rate is judged (`zeroshot bench`).
import CKernels
import Dispatch
import Foundation

public enum ArithmeticPeak {
    /// Float32 GFLOP/s (a multiply-add counts 2) of all `ComputeThreads.count` threads running independent
    /// multiply-add chains at once on the widest FMA instructions the CPU has (AVX-512F, else AVX2+FMA, NEON on
    /// arm64, else scalar): the best of `trials` runs (wall time, threads started together on the compute
    /// layer's OpenMP team). Each run takes about `seconds`, whatever the thread count: with more threads than
    /// cores each thread does proportionally less.
    public static func fmaGFLOPs(trials: Int = 5, seconds: Double = 0.05) -> Double {
        let threads = ComputeThreads.count
        // Calibrate on one thread: rounds for about `seconds`, shared out when threads outnumber cores.
        var rounds = 10_000
        while true {
            let start = DispatchTime.now()
            _ = probe(rounds: rounds, seed: 0.5)
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
            if elapsed >= seconds / 4 || rounds >= 1 << 40 {
                let cores = max(1, ProcessInfo.processInfo.activeProcessorCount)
                let share = min(1, Double(cores) / Double(threads))
                rounds = max(1, Int(Double(rounds) * seconds / max(elapsed, 1e-9) * share))
                break
            }
            rounds *= 4
        }
        var best = 0.0
        var flops = [Double](repeating: 0, count: threads)
        for _ in 0..<max(1, trials) {
            let start = DispatchTime.now()
            flops.withUnsafeMutableBufferPointer { flops in
                let f = UncheckedSendable(flops)
                ComputeThreads.parallelFor(threads, adapting: false) { i, _ in
                    f.value[i] = probe(rounds: rounds, seed: Float(i) + 0.25).flops
                }
            }
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
            best = max(best, flops.reduce(0, +) / max(elapsed, 1e-9) / 1e9)
        }
        return best
    }

    /// One thread's share of the measurement: `rounds` steps of `chains` independent multiply-add chains (chain
    /// i starts at `seed + i` and steps a = a · 0.99999 + 1e-6). Returns the floating-point operations done,
    /// the sum of the chains' last values and the number of chains.
    static func probe(rounds: Int, seed: Float) -> (flops: Double, sum: Float, chains: Int) {
        var sum: Float = 0
        var chains: Int32 = 0
        let flops = zs_fma_probe(rounds, seed, &sum, &chains)
        return (flops, sum, Int(chains))
    }
}
