// Distance kernels for the HNSW index, picked once at run time for the CPU the process runs on
// (AVX-512, AVX2+FMA, else SSE), so one portable binary gets the wide kernels where they exist.
// hnswlib's own kernels are chosen at compile time (-mavx...), which a portable build never
// enables. Internal to ff_vectors. (No hnswlib include here: its header defines non-inline
// functions, so only vector_index.cc may include it.)
#pragma once

#include <cstddef>
#include <string_view>

namespace featureforge::vectors {

// hnswlib's DISTFUNC<float>: (vector a, vector b, pointer to the dimension as size_t).
using DistanceFunction = float (*)(const void*, const void*, const void*);

// 1 - <a, b> (inner product; COSINE on unit vectors).
DistanceFunction InnerProductDistanceFunction();
// Squared Euclidean distance.
DistanceFunction L2SquaredDistanceFunction();

// "avx512", "avx2", "sse" or "scalar": the kernel set this process uses.
std::string_view DistanceKernelName();

}  // namespace featureforge::vectors
