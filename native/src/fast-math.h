// exp for float32 written so loops over it vectorise (libm's expf is a call per element, ~2 ns; this
// is a few vector instructions). Cephes' expf polynomial after Cody–Waite reduction: about 1 ulp on
// normal results; NaN passes through, overflow gives +inf, results below the denormal range give 0.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

namespace mla {

inline float floatFromBits(int32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

inline float fastExp(float x) {
  const float kMax = 88.72283935546875f;  // largest x with a finite exp(x)
  const float kMin = -104.0f;             // exp below this rounds to 0 even as a denormal
  float xc = x < kMin ? kMin : (x > kMax ? kMax : x);
  const float fn = std::floor(xc * 1.44269504088896341f + 0.5f);  // n = round(x / ln 2)
  const float r = (xc - fn * 0.693359375f) + fn * 2.12194440e-4f;  // x - n·ln 2 in two parts
  const float z = r * r;
  const float p = (((((1.9875691500e-4f * r + 1.3981999507e-3f) * r + 8.3334519073e-3f) * r + 4.1665795894e-2f) * r +
                    1.6666665459e-1f) * r + 5.0000001201e-1f) * z + r + 1.0f;
  // 2^n as two factors so n from -150 to 128 stays within the exponent field of each.
  const int32_t n = static_cast<int32_t>(fn);
  const int32_t n1 = n >> 1, n2 = n - n1;
  float y = p * floatFromBits((n1 + 127) << 23) * floatFromBits((n2 + 127) << 23);
  y = x > kMax ? std::numeric_limits<float>::infinity() : y;
  y = x < kMin ? 0.0f : y;
  return x != x ? x : y;
}

}  // namespace mla
