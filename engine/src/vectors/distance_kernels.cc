// Inner-product and squared-L2 kernels in three widths, chosen once per process with
// __builtin_cpu_supports. Each wide kernel is compiled for its instruction set through a
// function target attribute, so the rest of the build stays portable.
#include "distance_kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace featureforge::vectors {
namespace {

enum class Kernel { kScalar, kSse, kAvx2, kAvx512 };

Kernel DetectKernel() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return Kernel::kAvx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Kernel::kAvx2;
  return Kernel::kSse;
#else
  return Kernel::kScalar;
#endif
}

Kernel ActiveKernel() {
  static const Kernel kernel = DetectKernel();
  return kernel;
}

float DotScalar(const float* a, const float* b, size_t n) {
  float sum = 0;
  for (size_t i = 0; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

float L2Scalar(const float* a, const float* b, size_t n) {
  float sum = 0;
  for (size_t i = 0; i < n; ++i) {
    const float d = a[i] - b[i];
    sum += d * d;
  }
  return sum;
}

#if defined(__x86_64__)
float HorizontalSum(__m128 v) {
  v = _mm_add_ps(v, _mm_movehl_ps(v, v));
  v = _mm_add_ss(v, _mm_shuffle_ps(v, v, 1));
  return _mm_cvtss_f32(v);
}

float DotSse(const float* a, const float* b, size_t n) {
  __m128 s0 = _mm_setzero_ps(), s1 = _mm_setzero_ps();
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    s0 = _mm_add_ps(s0, _mm_mul_ps(_mm_loadu_ps(a + i), _mm_loadu_ps(b + i)));
    s1 = _mm_add_ps(s1, _mm_mul_ps(_mm_loadu_ps(a + i + 4), _mm_loadu_ps(b + i + 4)));
  }
  return HorizontalSum(_mm_add_ps(s0, s1)) + DotScalar(a + i, b + i, n - i);
}

float L2Sse(const float* a, const float* b, size_t n) {
  __m128 s0 = _mm_setzero_ps(), s1 = _mm_setzero_ps();
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128 d0 = _mm_sub_ps(_mm_loadu_ps(a + i), _mm_loadu_ps(b + i));
    const __m128 d1 = _mm_sub_ps(_mm_loadu_ps(a + i + 4), _mm_loadu_ps(b + i + 4));
    s0 = _mm_add_ps(s0, _mm_mul_ps(d0, d0));
    s1 = _mm_add_ps(s1, _mm_mul_ps(d1, d1));
  }
  return HorizontalSum(_mm_add_ps(s0, s1)) + L2Scalar(a + i, b + i, n - i);
}

__attribute__((target("avx2,fma"))) float DotAvx2(const float* a, const float* b, size_t n) {
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
  }
  for (; i + 8 <= n; i += 8)
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
  const __m256 s = _mm256_add_ps(s0, s1);
  const __m128 half = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
  return HorizontalSum(half) + DotScalar(a + i, b + i, n - i);
}

__attribute__((target("avx2,fma"))) float L2Avx2(const float* a, const float* b, size_t n) {
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
    const __m256 d1 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8));
    s0 = _mm256_fmadd_ps(d0, d0, s0);
    s1 = _mm256_fmadd_ps(d1, d1, s1);
  }
  for (; i + 8 <= n; i += 8) {
    const __m256 d = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
    s0 = _mm256_fmadd_ps(d, d, s0);
  }
  const __m256 s = _mm256_add_ps(s0, s1);
  const __m128 half = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
  return HorizontalSum(half) + L2Scalar(a + i, b + i, n - i);
}

// Sum of the 16 lanes. (_mm512_reduce_add_ps trips GCC 12's -Wuninitialized through its
// _mm256_undefined_pd; explicit extracts with a zero source do not.)
__attribute__((target("avx512f"))) float ReduceAdd512(__m512 v) {
  const __m128 zero = _mm_setzero_ps();
  __m128 sum = _mm_add_ps(_mm512_mask_extractf32x4_ps(zero, 0xF, v, 0),
                          _mm512_mask_extractf32x4_ps(zero, 0xF, v, 1));
  sum = _mm_add_ps(sum, _mm512_mask_extractf32x4_ps(zero, 0xF, v, 2));
  sum = _mm_add_ps(sum, _mm512_mask_extractf32x4_ps(zero, 0xF, v, 3));
  return HorizontalSum(sum);
}

// The tail is a masked load, so every dimension runs fully in 512-bit registers.
__attribute__((target("avx512f"))) float DotAvx512(const float* a, const float* b, size_t n) {
  __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
    s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
  }
  for (; i + 16 <= n; i += 16)
    s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
  if (i < n) {
    const __mmask16 mask = static_cast<__mmask16>((1u << (n - i)) - 1);
    s1 =
        _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask, a + i), _mm512_maskz_loadu_ps(mask, b + i), s1);
  }
  return ReduceAdd512(_mm512_add_ps(s0, s1));
}

__attribute__((target("avx512f"))) float L2Avx512(const float* a, const float* b, size_t n) {
  __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m512 d0 = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
    const __m512 d1 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16));
    s0 = _mm512_fmadd_ps(d0, d0, s0);
    s1 = _mm512_fmadd_ps(d1, d1, s1);
  }
  for (; i + 16 <= n; i += 16) {
    const __m512 d = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
    s0 = _mm512_fmadd_ps(d, d, s0);
  }
  if (i < n) {
    const __mmask16 mask = static_cast<__mmask16>((1u << (n - i)) - 1);
    const __m512 d =
        _mm512_sub_ps(_mm512_maskz_loadu_ps(mask, a + i), _mm512_maskz_loadu_ps(mask, b + i));
    s1 = _mm512_fmadd_ps(d, d, s1);
  }
  return ReduceAdd512(_mm512_add_ps(s0, s1));
}
#endif

template <float (*Dot)(const float*, const float*, size_t)>
float InnerProductDistance(const void* a, const void* b, const void* param) {
  return 1.0f - Dot(static_cast<const float*>(a), static_cast<const float*>(b),
                    *static_cast<const size_t*>(param));
}

template <float (*L2)(const float*, const float*, size_t)>
float L2Distance(const void* a, const void* b, const void* param) {
  return L2(static_cast<const float*>(a), static_cast<const float*>(b),
            *static_cast<const size_t*>(param));
}

DistanceFunction InnerProductFor(Kernel kernel) {
  switch (kernel) {
#if defined(__x86_64__)
    case Kernel::kAvx512:
      return InnerProductDistance<DotAvx512>;
    case Kernel::kAvx2:
      return InnerProductDistance<DotAvx2>;
    case Kernel::kSse:
      return InnerProductDistance<DotSse>;
#endif
    default:
      return InnerProductDistance<DotScalar>;
  }
}

DistanceFunction L2For(Kernel kernel) {
  switch (kernel) {
#if defined(__x86_64__)
    case Kernel::kAvx512:
      return L2Distance<L2Avx512>;
    case Kernel::kAvx2:
      return L2Distance<L2Avx2>;
    case Kernel::kSse:
      return L2Distance<L2Sse>;
#endif
    default:
      return L2Distance<L2Scalar>;
  }
}

}  // namespace

DistanceFunction InnerProductDistanceFunction() { return InnerProductFor(ActiveKernel()); }
DistanceFunction L2SquaredDistanceFunction() { return L2For(ActiveKernel()); }

std::string_view DistanceKernelName() {
  switch (ActiveKernel()) {
    case Kernel::kAvx512:
      return "avx512";
    case Kernel::kAvx2:
      return "avx2";
    case Kernel::kSse:
      return "sse";
    case Kernel::kScalar:
      return "scalar";
  }
  return "scalar";
}

}  // namespace featureforge::vectors
