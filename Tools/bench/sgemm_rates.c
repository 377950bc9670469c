/* oneDNN's sgemm alone on the products of a CLIP image tower's layers, in zeroshot's operand order
 * (weight [out, in] times hidden states [in, columns], row-major), on distinct weights for each layer so that
 * they stream from memory as in the model. Prints the best of 4 passes over the layers, in GFLOP/s.
 *
 *   cc -O2 Tools/bench/sgemm_rates.c -o /tmp/sgemm_rates -ldnnl
 *   OMP_NUM_THREADS=2 /tmp/sgemm_rates 48 768 12     # ViT-B/32, batch 1: its 50 tokens run as 48 columns plus 2
 *                                                    # computed apart (oneDNN takes columns 16 at a time)
 *   OMP_NUM_THREADS=2 /tmp/sgemm_rates 800 768 12    # ViT-B/32, batch 16
 *   OMP_NUM_THREADS=2 /tmp/sgemm_rates 257 1024 24   # ViT-L/14, batch 1
 *
 * Arguments: columns (tokens x batch), hidden width (the MLP is 4x), layers.
 */
#include <dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s COLUMNS WIDTH LAYERS\n", argv[0]);
        return 2;
    }
    long n = atol(argv[1]), h = atol(argv[2]), layers = atol(argv[3]);
    if (n < 1 || h < 1 || layers < 1 || n > 1 << 16 || h > 1 << 14 || layers > 64) {
        fprintf(stderr, "columns, width and layers must be positive (at most 65536, 16384, 64)\n");
        return 2;
    }
    /* q, k, v, out projections [h, h], then fc1 [4h, h] and fc2 [h, 4h] */
    long rows[6] = {h, h, h, h, 4 * h, h}, inner[6] = {h, h, h, h, h, 4 * h};
    float **w = malloc(sizeof(float *) * layers * 6);
    float *x = malloc(sizeof(float) * 4 * h * n), *y = malloc(sizeof(float) * 4 * h * n);
    if (!w || !x || !y) return 1;
    for (long i = 0; i < 4 * h * n; i++) x[i] = (float)(i % 5) * 0.1f;
    double flop = 0;
    for (long l = 0; l < layers; l++)
        for (int j = 0; j < 6; j++) {
            float *m = malloc(sizeof(float) * rows[j] * inner[j]);
            if (!m) return 1;
            for (long i = 0; i < rows[j] * inner[j]; i++) m[i] = (float)(i % 7) * 0.01f;
            w[l * 6 + j] = m;
            flop += 2.0 * rows[j] * inner[j] * n;
        }
    double best = 1e30;
    for (int pass = 0; pass < 4; pass++) {
        double t0 = now();
        for (long l = 0; l < layers; l++)
            for (int j = 0; j < 6; j++)
                if (dnnl_sgemm('N', 'N', rows[j], n, inner[j], 1.0f, w[l * 6 + j], inner[j], x, n, 0.0f, y, n)
                    != dnnl_success)
                    return 1;
        double t = now() - t0;
        if (t < best) best = t;
    }
    printf("%ld columns, width %ld, %ld layers: %.1f ms, %.1f GFLOP/s\n", n, h, layers, best * 1e3,
           flop / best / 1e9);
    return 0;
}
