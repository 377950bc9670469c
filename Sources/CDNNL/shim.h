// oneDNN (Debian package libdnnl-dev): types and prototypes of the GEMM routines used by the Compute target.
// The library itself is opened at run time (see Sources/Compute/GEMM.swift), so that its OpenMP runtime can be
// configured first.
#include <dnnl.h>
