// Matrix products through cblas_sgemm: a raw row-major entry (for the bench's OpenBLAS baseline) and
// tfjs's BatchMatMul / _FusedMatMul semantics (broadcast batch dims, transpose flags, bias, activation).
#include <napi.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "args.h"
#include "blas.h"
#include "fast-math.h"
#include "kernels.h"
#include "parallel.h"

namespace mla {
namespace {

enum Activation { kLinear = 0, kRelu = 1, kRelu6 = 2, kLeakyRelu = 3, kSigmoid = 4, kElu = 5 };
enum BiasKind { kNoBias = 0, kScalarBias = 1, kColumnBias = 2 };

// c (m, n) = op(a) · op(b) + beta · c, row-major. A product with one row or one column goes to sgemv: OpenBLAS
// before 0.3.27 (Debian 12 has 0.3.21) runs sgemm at m = 1 by packing the whole of b, which at batch-1 decoding (every
// weight product is one row against a weight matrix) read and wrote each weight again and streamed weights at a
// third of the copy bandwidth. A vector of one row or column is contiguous whatever its transpose flag.
inline void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float* a, const float* b, float beta,
                 float* c) {
  if (m == 1 && n > 1) {
    // c (n) = a op(b): y = Bᵀ a for b stored (k, n), y = B a for b stored (n, k).
    if (tb) cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)n, (int)k, 1.0f, b, (int)k, a, 1, beta, c, 1);
    else cblas_sgemv(CblasRowMajor, CblasTrans, (int)k, (int)n, 1.0f, b, (int)n, a, 1, beta, c, 1);
    return;
  }
  if (n == 1 && m > 1) {
    // c (m) = op(a) b: a stored (m, k) is y = A b, stored (k, m) is y = Aᵀ b.
    if (ta) cblas_sgemv(CblasRowMajor, CblasTrans, (int)k, (int)m, 1.0f, a, (int)m, b, 1, beta, c, 1);
    else cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)m, (int)k, 1.0f, a, (int)k, b, 1, beta, c, 1);
    return;
  }
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)m, (int)n,
              (int)k, 1.0f, a, ta ? (int)m : (int)k, b, tb ? (int)k : (int)n, beta, c, (int)n);
}

// sgemm(transA, transB, m, n, k, a, b, c): c = op(a) · op(b), all row-major and dense.
Napi::Value Sgemm(const Napi::CallbackInfo& info) {
  const char* fn = "sgemm";
  bool ta = boolArg(info, 0, fn, "transA"), tb = boolArg(info, 1, fn, "transB");
  int64_t m = intArg(info, 2, fn, "m"), n = intArg(info, 3, fn, "n"), k = intArg(info, 4, fn, "k");
  F32 a = f32Arg(info, 5, fn, "a"), b = f32Arg(info, 6, fn, "b"), c = f32Arg(info, 7, fn, "c");
  requireLength(info.Env(), a, m * k, fn, "a");
  requireLength(info.Env(), b, k * n, fn, "b");
  requireLength(info.Env(), c, m * n, fn, "c");
  if (m > 0 && n > 0 && k > 0) gemm(ta, tb, m, n, k, a.data, b.data, 0.0f, c.data);
  return info.Env().Undefined();
}

void epilogue(float* c, int64_t rows, int64_t n, int act, float alpha) {
  if (act == kLinear) return;
  parallelFor(rows * n, 1 << 15, [&](int64_t s, int64_t e) {
    float* x = c + s;
    const int64_t len = e - s;
    switch (act) {
      case kRelu:
        for (int64_t i = 0; i < len; i++) x[i] = x[i] < 0.0f ? 0.0f : x[i];
        break;
      case kRelu6:
        for (int64_t i = 0; i < len; i++) x[i] = x[i] < 0.0f ? 0.0f : (x[i] > 6.0f ? 6.0f : x[i]);
        break;
      case kLeakyRelu:
        for (int64_t i = 0; i < len; i++) x[i] = x[i] < 0.0f ? alpha * x[i] : x[i];
        break;
      case kSigmoid:
        for (int64_t i = 0; i < len; i++) x[i] = 1.0f / (1.0f + fastExp(-x[i]));
        break;
      case kElu:
        for (int64_t i = 0; i < len; i++) x[i] = x[i] >= 0.0f ? x[i] : std::expm1(x[i]);
        break;
    }
  });
}

/**
 * batchMatMul(a, b, out, aBatch, bBatch, m, n, k, transA, transB, bias, biasKind, activation, alpha)
 * a: (aBatch..., m, k) or (aBatch..., k, m) when transA; b likewise; aBatch and bBatch are Int32Arrays of
 * equal length (the caller left-pads with 1s); out: (broadcast(aBatch, bBatch)..., m, n).
 * The bias is added before the activation, as tfjs's fused kernel does.
 */
Napi::Value BatchMatMul(const Napi::CallbackInfo& info) {
  const char* fn = "batchMatMul";
  Napi::Env env = info.Env();
  F32 a = f32Arg(info, 0, fn, "a"), b = f32Arg(info, 1, fn, "b"), out = f32Arg(info, 2, fn, "out");
  std::vector<int64_t> aB = dimsArg(info, 3, fn, "aBatch"), bB = dimsArg(info, 4, fn, "bBatch");
  int64_t m = intArg(info, 5, fn, "m"), n = intArg(info, 6, fn, "n"), k = intArg(info, 7, fn, "k");
  bool ta = boolArg(info, 8, fn, "transA"), tb = boolArg(info, 9, fn, "transB");
  F32 bias = f32OrNullArg(info, 10, fn, "bias");
  int64_t biasKind = intArg(info, 11, fn, "biasKind");
  int act = static_cast<int>(intArg(info, 12, fn, "activation"));
  float alpha = static_cast<float>(numArg(info, 13, fn, "alpha"));
  if (aB.size() != bB.size()) throw Napi::RangeError::New(env, "batchMatMul: aBatch and bBatch ranks differ");
  if (act < kLinear || act > kElu) throw Napi::RangeError::New(env, "batchMatMul: unknown activation code");

  // Broadcast batch dims: row-major strides (in matrices) of a, b and out over the batch index.
  const size_t r = aB.size();
  std::vector<int64_t> oB(r), aStride(r), bStride(r), oStride(r);
  int64_t aCount = 1, bCount = 1, oCount = 1;
  for (size_t d = r; d-- > 0;) {
    if (aB[d] != bB[d] && aB[d] != 1 && bB[d] != 1) {
      throw Napi::RangeError::New(env, "batchMatMul: batch dims do not broadcast");
    }
    oB[d] = std::max(aB[d], bB[d]);
    aStride[d] = aB[d] == 1 ? 0 : aCount;
    bStride[d] = bB[d] == 1 ? 0 : bCount;
    oStride[d] = oCount;
    aCount *= aB[d];
    bCount *= bB[d];
    oCount *= oB[d];
  }
  requireLength(env, a, aCount * m * k, fn, "a");
  requireLength(env, b, bCount * k * n, fn, "b");
  requireLength(env, out, oCount * m * n, fn, "out");
  if (biasKind == kScalarBias) requireLength(env, bias, 1, fn, "bias");
  if (biasKind == kColumnBias) requireLength(env, bias, n, fn, "bias");
  if (oCount == 0 || m == 0 || n == 0) return env.Undefined();

  // Seed the output with the bias so sgemm adds into it (beta = 1) instead of a second pass over it.
  float beta = 0.0f;
  if (biasKind != kNoBias && k > 0) {
    beta = 1.0f;
    const int64_t rows = oCount * m;
    for (int64_t i = 0; i < rows; i++) {
      float* row = out.data + i * n;
      if (biasKind == kScalarBias) std::fill(row, row + n, bias.data[0]);
      else std::copy(bias.data, bias.data + n, row);
    }
  } else if (biasKind != kNoBias) {  // k == 0: the product is all zeros, the result is just the bias
    for (int64_t i = 0; i < oCount * m; i++)
      for (int64_t j = 0; j < n; j++) out.data[i * n + j] = biasKind == kScalarBias ? bias.data[0] : bias.data[j];
  } else if (k == 0) {
    std::fill(out.data, out.data + oCount * m * n, 0.0f);
  }

  if (k > 0) {
    if (bCount == 1 && !ta) {
      // b is shared by every batch and a's matrices are stacked rows: one tall sgemm over (batch·m, k),
      // which BLAS runs far better than many short ones.
      gemm(false, tb, aCount * m, n, k, a.data, b.data, beta, out.data);
      // aCount == oCount here: with b's batch all ones, out's batch shape is a's.
    } else {
      std::vector<int64_t> idx(r, 0);
      for (int64_t o = 0; o < oCount; o++) {
        int64_t ai = 0, bi = 0, rem = o;
        for (size_t d = 0; d < r; d++) {
          int64_t q = rem / oStride[d];
          rem -= q * oStride[d];
          ai += q * aStride[d];
          bi += q * bStride[d];
        }
        gemm(ta, tb, m, n, k, a.data + ai * m * k, b.data + bi * k * n, beta, out.data + o * m * n);
      }
    }
  }
  epilogue(out.data, oCount * m, n, act, alpha);
  return env.Undefined();
}

}  // namespace

void InitMatmul(Napi::Env env, Napi::Object exports) {
  exports.Set("sgemm", Napi::Function::New(env, Sgemm, "sgemm"));
  exports.Set("batchMatMul", Napi::Function::New(env, BatchMatMul, "batchMatMul"));
}

}  // namespace mla
