// Element-wise kernels: unary maps and binary ops with numpy/tfjs broadcasting. tfjs's JS binary kernels
// compute a multi-index per element whenever shapes differ (tens of ns each), which made the broadcasts
// of softmax and layer-norm gradients the slowest part of a training step.
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

constexpr int64_t kGrain = 1 << 15;  // elements per thread below which a loop stays on one thread
const float kNaN = std::numeric_limits<float>::quiet_NaN();

// ---- unary ----------------------------------------------------------------------------------------
// Codes shared with lib/backend/kernels/elementwise.ts (UNARY_CODES).
enum Unary {
  kExp, kLog, kNeg, kRelu, kStep, kRsqrt, kSqrt, kSquare, kAbs, kSigmoid, kTanh, kReciprocal, kRelu6, kElu,
  kUnaryCount
};

template <typename F>
void mapRange(const float* x, float* y, int64_t s, int64_t e, F f) {
  for (int64_t i = s; i < e; i++) y[i] = f(x[i]);
}

void unaryRange(int op, const float* x, float* y, int64_t s, int64_t e, float alpha) {
  switch (op) {
    case kExp: mapRange(x, y, s, e, [](float v) { return fastExp(v); }); break;
    case kLog: mapRange(x, y, s, e, [](float v) { return std::log(v); }); break;
    case kNeg: mapRange(x, y, s, e, [](float v) { return -v; }); break;
    // Written so NaN passes through, as Math.max(0, NaN) does in the JS kernel.
    case kRelu: mapRange(x, y, s, e, [](float v) { return v < 0.0f ? 0.0f : v; }); break;
    case kStep: mapRange(x, y, s, e, [alpha](float v) { return v != v ? v : (v > 0.0f ? 1.0f : alpha); }); break;
    case kRsqrt: mapRange(x, y, s, e, [](float v) { return 1.0f / std::sqrt(v); }); break;
    case kSqrt: mapRange(x, y, s, e, [](float v) { return std::sqrt(v); }); break;
    case kSquare: mapRange(x, y, s, e, [](float v) { return v * v; }); break;
    case kAbs: mapRange(x, y, s, e, [](float v) { return std::fabs(v); }); break;
    case kSigmoid: mapRange(x, y, s, e, [](float v) { return 1.0f / (1.0f + fastExp(-v)); }); break;
    case kTanh: mapRange(x, y, s, e, [](float v) { return std::tanh(v); }); break;
    case kReciprocal: mapRange(x, y, s, e, [](float v) { return 1.0f / v; }); break;
    case kRelu6: mapRange(x, y, s, e, [](float v) { return v < 0.0f ? 0.0f : (v > 6.0f ? 6.0f : v); }); break;
    case kElu: mapRange(x, y, s, e, [](float v) { return v >= 0.0f ? v : std::expm1(v); }); break;
  }
}

// unary(op, x, out, alpha): out[i] = f(x[i]) over x's length; alpha is Step's value for x ≤ 0.
Napi::Value UnaryOp(const Napi::CallbackInfo& info) {
  const char* fn = "unary";
  int op = static_cast<int>(intArg(info, 0, fn, "op"));
  F32 x = f32Arg(info, 1, fn, "x"), y = f32Arg(info, 2, fn, "out");
  float alpha = static_cast<float>(numArg(info, 3, fn, "alpha"));
  if (op >= kUnaryCount) throw Napi::RangeError::New(info.Env(), "unary: unknown op code");
  requireLength(info.Env(), y, static_cast<int64_t>(x.length), fn, "out");
  parallelFor(static_cast<int64_t>(x.length), kGrain, [&](int64_t s, int64_t e) { unaryRange(op, x.data, y.data, s, e, alpha); });
  return info.Env().Undefined();
}

// ---- binary ---------------------------------------------------------------------------------------
// Codes shared with lib/backend/kernels/elementwise.ts (BINARY_CODES).
enum Binary { kAdd, kSub, kMul, kDiv, kMax, kMin, kPow, kSquaredDifference, kBinaryCount };

struct AddF { float operator()(float a, float b) const { return a + b; } };
struct SubF { float operator()(float a, float b) const { return a - b; } };
struct MulF { float operator()(float a, float b) const { return a * b; } };
struct DivF { float operator()(float a, float b) const { return a / b; } };
// NaN in either operand gives NaN, like Math.max / Math.min.
struct MaxF { float operator()(float a, float b) const { return (a != a || b != b) ? kNaN : (a > b ? a : b); } };
struct MinF { float operator()(float a, float b) const { return (a != a || b != b) ? kNaN : (a < b ? a : b); } };
struct PowF { float operator()(float a, float b) const { return std::pow(a, b); } };
struct SqDiffF { float operator()(float a, float b) const { float d = a - b; return d * d; } };

/** One run of n outputs; sa/sb are 1 (contiguous) or 0 (broadcast scalar). */
template <typename Op>
void binaryRun(const float* a, const float* b, float* y, int64_t n, int64_t sa, int64_t sb) {
  Op op;
  if (sa && sb) {
    for (int64_t i = 0; i < n; i++) y[i] = op(a[i], b[i]);
  } else if (sa) {
    const float bv = b[0];
    for (int64_t i = 0; i < n; i++) y[i] = op(a[i], bv);
  } else if (sb) {
    const float av = a[0];
    for (int64_t i = 0; i < n; i++) y[i] = op(av, b[i]);
  } else {
    const float v = op(a[0], b[0]);
    for (int64_t i = 0; i < n; i++) y[i] = v;
  }
}

struct Dim {
  int64_t n, sa, sb;  // output extent, a's stride, b's stride (0 where that input broadcasts)
};

/**
 * The broadcast as a short list of dims: size-1 output dims dropped and neighbours merged wherever both
 * inputs step through them contiguously (or both broadcast), so the innermost run is as long as possible.
 */
std::vector<Dim> broadcastDims(const std::vector<int64_t>& aShape, const std::vector<int64_t>& bShape, int64_t& total,
                               bool& ok) {
  const size_t r = std::max(aShape.size(), bShape.size());
  std::vector<int64_t> as(r, 1), bs(r, 1);
  std::copy(aShape.begin(), aShape.end(), as.begin() + (r - aShape.size()));
  std::copy(bShape.begin(), bShape.end(), bs.begin() + (r - bShape.size()));
  std::vector<Dim> dims;
  int64_t ca = 1, cb = 1;
  total = 1;
  ok = true;
  std::vector<Dim> rev;
  for (size_t k = r; k-- > 0;) {
    if (as[k] != bs[k] && as[k] != 1 && bs[k] != 1) ok = false;
    const int64_t n = std::max(as[k], bs[k]);
    total *= n;
    if (n != 1) rev.push_back(Dim{n, as[k] == 1 ? 0 : ca, bs[k] == 1 ? 0 : cb});
    ca *= as[k];
    cb *= bs[k];
  }
  // rev is innermost first; merge an outer dim into the current inner one when strides line up.
  for (const Dim& d : rev) {
    if (!dims.empty()) {
      Dim& in = dims.back();
      if (d.sa == in.sa * in.n && d.sb == in.sb * in.n) {
        in.n *= d.n;
        continue;
      }
    }
    dims.push_back(d);
  }
  std::reverse(dims.begin(), dims.end());  // outermost first
  if (dims.empty()) dims.push_back(Dim{1, 0, 0});
  return dims;
}

template <typename Op>
void binaryBroadcast(const float* a, const float* b, float* y, const std::vector<Dim>& dims) {
  const Dim inner = dims.back();
  const size_t outerRank = dims.size() - 1;
  int64_t rows = 1;
  for (size_t k = 0; k < outerRank; k++) rows *= dims[k].n;
  parallelFor(rows, std::max<int64_t>(1, kGrain / inner.n), [&](int64_t s, int64_t e) {
    // Multi-index of row s over the outer dims, then an odometer from there.
    std::vector<int64_t> idx(outerRank);
    int64_t oa = 0, ob = 0, rem = s;
    for (size_t k = outerRank; k-- > 0;) {
      idx[k] = rem % dims[k].n;
      rem /= dims[k].n;
      oa += idx[k] * dims[k].sa;
      ob += idx[k] * dims[k].sb;
    }
    for (int64_t row = s; row < e; row++) {
      binaryRun<Op>(a + oa, b + ob, y + row * inner.n, inner.n, inner.sa, inner.sb);
      for (size_t k = outerRank; k-- > 0;) {
        oa += dims[k].sa;
        ob += dims[k].sb;
        if (++idx[k] < dims[k].n) break;
        oa -= dims[k].sa * dims[k].n;
        ob -= dims[k].sb * dims[k].n;
        idx[k] = 0;
      }
    }
  });
}

// binary(op, a, aShape, b, bShape, out): out (broadcast shape) = a ∘ b.
Napi::Value BinaryOp(const Napi::CallbackInfo& info) {
  const char* fn = "binary";
  Napi::Env env = info.Env();
  int op = static_cast<int>(intArg(info, 0, fn, "op"));
  F32 a = f32Arg(info, 1, fn, "a");
  std::vector<int64_t> aShape = dimsArg(info, 2, fn, "aShape");
  F32 b = f32Arg(info, 3, fn, "b");
  std::vector<int64_t> bShape = dimsArg(info, 4, fn, "bShape");
  F32 y = f32Arg(info, 5, fn, "out");
  if (op >= kBinaryCount) throw Napi::RangeError::New(env, "binary: unknown op code");
  int64_t total = 0;
  bool ok = true;
  std::vector<Dim> dims = broadcastDims(aShape, bShape, total, ok);
  if (!ok) throw Napi::RangeError::New(env, "binary: shapes do not broadcast");
  int64_t na = 1, nb = 1;
  for (int64_t d : aShape) na *= d;
  for (int64_t d : bShape) nb *= d;
  requireLength(env, a, na, fn, "a");
  requireLength(env, b, nb, fn, "b");
  requireLength(env, y, total, fn, "out");
  if (total == 0) return env.Undefined();
  switch (op) {
    case kAdd: binaryBroadcast<AddF>(a.data, b.data, y.data, dims); break;
    case kSub: binaryBroadcast<SubF>(a.data, b.data, y.data, dims); break;
    case kMul: binaryBroadcast<MulF>(a.data, b.data, y.data, dims); break;
    case kDiv: binaryBroadcast<DivF>(a.data, b.data, y.data, dims); break;
    case kMax: binaryBroadcast<MaxF>(a.data, b.data, y.data, dims); break;
    case kMin: binaryBroadcast<MinF>(a.data, b.data, y.data, dims); break;
    case kPow: binaryBroadcast<PowF>(a.data, b.data, y.data, dims); break;
    case kSquaredDifference: binaryBroadcast<SqDiffF>(a.data, b.data, y.data, dims); break;
  }
  return env.Undefined();
}

}  // namespace

void InitElementwise(Napi::Env env, Napi::Object exports) {
  exports.Set("unary", Napi::Function::New(env, UnaryOp, "unary"));
  exports.Set("binary", Napi::Function::New(env, BinaryOp, "binary"));
}

}  // namespace mla
