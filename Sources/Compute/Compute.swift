// Compute
