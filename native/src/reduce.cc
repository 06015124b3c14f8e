// Reductions over a contiguous block of axes, seen as x (outer, r, inner) → out (outer, inner), and a
// fused last-axis softmax. Sums accumulate in double, as the JS kernels do with JS numbers.
#include <napi.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "args.h"
#include "fast-math.h"
#include "kernels.h"
#include "parallel.h"

namespace mla {
namespace {

constexpr int64_t kGrain = 1 << 15;

// Codes shared with lib/backend/kernels/reduce.ts (REDUCE_CODES).
enum Reduce { kSum, kMean, kMax, kMin, kReduceCount };

inline float pickMax(float acc, float v) { return (v != v || v > acc) ? v : acc; }  // NaN sticks, as in tfjs
inline float pickMin(float acc, float v) { return (v != v || v < acc) ? v : acc; }

/** Reduces each of rows [s, e) of x (rows, r) to one value (inner == 1). */
void reduceRows(int op, const float* x, float* y, int64_t r, int64_t s, int64_t e) {
  for (int64_t o = s; o < e; o++) {
    const float* row = x + o * r;
    if (op == kSum || op == kMean) {
      // Four partial sums let the compiler vectorise without reassociating one long chain.
      double acc[4] = {0, 0, 0, 0};
      int64_t j = 0;
      for (; j + 4 <= r; j += 4) {
        acc[0] += row[j];
        acc[1] += row[j + 1];
        acc[2] += row[j + 2];
        acc[3] += row[j + 3];
      }
      for (; j < r; j++) acc[0] += row[j];
      double total = (acc[0] + acc[1]) + (acc[2] + acc[3]);
      y[o] = static_cast<float>(op == kMean ? total / static_cast<double>(r) : total);
    } else {
      float acc = row[0];
      if (op == kMax) for (int64_t j = 1; j < r; j++) acc = pickMax(acc, row[j]);
      else for (int64_t j = 1; j < r; j++) acc = pickMin(acc, row[j]);
      y[o] = acc;
    }
  }
}

/** Reduces the middle axis of x (outer, r, inner) for inner columns [s, e) of every outer block. */
void reduceColumns(int op, const float* x, float* y, int64_t outer, int64_t r, int64_t inner, int64_t s, int64_t e) {
  const int64_t w = e - s;
  std::vector<double> acc(op == kSum || op == kMean ? w : 0);
  for (int64_t o = 0; o < outer; o++) {
    const float* block = x + o * r * inner + s;
    float* out = y + o * inner + s;
    if (op == kSum || op == kMean) {
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int64_t j = 0; j < r; j++) {
        const float* row = block + j * inner;
        for (int64_t i = 0; i < w; i++) acc[i] += row[i];
      }
      const double scale = op == kMean ? 1.0 / static_cast<double>(r) : 1.0;
      for (int64_t i = 0; i < w; i++) out[i] = static_cast<float>(acc[i] * scale);
    } else {
      for (int64_t i = 0; i < w; i++) out[i] = block[i];
      for (int64_t j = 1; j < r; j++) {
        const float* row = block + j * inner;
        if (op == kMax) for (int64_t i = 0; i < w; i++) out[i] = pickMax(out[i], row[i]);
        else for (int64_t i = 0; i < w; i++) out[i] = pickMin(out[i], row[i]);
      }
    }
  }
}

// reduce(op, x, out, outer, r, inner): out (outer, inner) from x (outer, r, inner). r must be ≥ 1.
Napi::Value ReduceOp(const Napi::CallbackInfo& info) {
  const char* fn = "reduce";
  Napi::Env env = info.Env();
  int op = static_cast<int>(intArg(info, 0, fn, "op"));
  F32 x = f32Arg(info, 1, fn, "x"), y = f32Arg(info, 2, fn, "out");
  int64_t outer = intArg(info, 3, fn, "outer"), r = intArg(info, 4, fn, "r"), inner = intArg(info, 5, fn, "inner");
  if (op >= kReduceCount) throw Napi::RangeError::New(env, "reduce: unknown op code");
  if (r < 1) throw Napi::RangeError::New(env, "reduce: the reduced size must be at least 1");
  requireLength(env, x, outer * r * inner, fn, "x");
  requireLength(env, y, outer * inner, fn, "out");
  if (inner == 1) {
    parallelFor(outer, std::max<int64_t>(1, kGrain / r), [&](int64_t s, int64_t e) { reduceRows(op, x.data, y.data, r, s, e); });
  } else {
    // Split across columns so each thread streams whole rows of its own slice.
    parallelFor(inner, std::max<int64_t>(16, kGrain / std::max<int64_t>(1, outer * r)),
                [&](int64_t s, int64_t e) { reduceColumns(op, x.data, y.data, outer, r, inner, s, e); });
  }
  return env.Undefined();
}

// softmax(x, out, rows, n): each row of n, exp(x - max) / Σ exp(x - max).
Napi::Value Softmax(const Napi::CallbackInfo& info) {
  const char* fn = "softmax";
  F32 x = f32Arg(info, 0, fn, "x"), y = f32Arg(info, 1, fn, "out");
  int64_t rows = intArg(info, 2, fn, "rows"), n = intArg(info, 3, fn, "n");
  requireLength(info.Env(), x, rows * n, fn, "x");
  requireLength(info.Env(), y, rows * n, fn, "out");
  if (n == 0) return info.Env().Undefined();
  parallelFor(rows, std::max<int64_t>(1, kGrain / n), [&](int64_t s, int64_t e) {
    for (int64_t o = s; o < e; o++) {
      const float* in = x.data + o * n;
      float* out = y.data + o * n;
      float m = in[0];
      for (int64_t j = 1; j < n; j++) m = pickMax(m, in[j]);
      for (int64_t j = 0; j < n; j++) out[j] = fastExp(in[j] - m);
      double acc[4] = {0, 0, 0, 0};
      int64_t j = 0;
      for (; j + 4 <= n; j += 4) {
        acc[0] += out[j];
        acc[1] += out[j + 1];
        acc[2] += out[j + 2];
        acc[3] += out[j + 3];
      }
      for (; j < n; j++) acc[0] += out[j];
      const double total = (acc[0] + acc[1]) + (acc[2] + acc[3]);
      const float inv = static_cast<float>(1.0 / total);
      for (int64_t j = 0; j < n; j++) out[j] *= inv;
    }
  });
  return info.Env().Undefined();
}

}  // namespace

void InitReduce(Napi::Env env, Napi::Object exports) {
  exports.Set("reduce", Napi::Function::New(env, ReduceOp, "reduce"));
  exports.Set("softmax", Napi::Function::New(env, Softmax, "softmax"));
}

}  // namespace mla
