// The qualifiers of the per-element functions that host code and CUDA kernels share: `__host__ __device__` under
// nvcc, plain `inline` in the host build.
#pragma once

#if defined(__CUDACC__)
#define RETINANET_HD __host__ __device__ __forceinline__
#else
#define RETINANET_HD inline
#endif
