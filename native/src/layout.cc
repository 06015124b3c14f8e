// Transpose: any permutation, as tfjs's Transpose kernel. Dims that stay neighbours are merged first;
// then either whole contiguous runs are copied (the input's last dim stays last), or 2-D tiles are
// transposed so reads and writes both stay within cache lines.
#include <napi.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "args.h"
#include "kernels.h"
#include "parallel.h"

namespace mla {
namespace {

constexpr int64_t kTile = 32;

struct TDim {
  int64_t n, in, out;  // extent, input stride, output stride
};

// transpose(x, shape, perm, out): out has shape[perm[k]] in dim k.
Napi::Value Transpose(const Napi::CallbackInfo& info) {
  const char* fn = "transpose";
  Napi::Env env = info.Env();
  F32 x = f32Arg(info, 0, fn, "x");
  std::vector<int64_t> shape = dimsArg(info, 1, fn, "shape"), perm = dimsArg(info, 2, fn, "perm");
  F32 y = f32Arg(info, 3, fn, "out");
  const size_t r = shape.size();
  if (perm.size() != r) throw Napi::RangeError::New(env, "transpose: perm and shape ranks differ");
  std::vector<bool> seen(r, false);
  for (int64_t p : perm) {
    if (p >= static_cast<int64_t>(r) || seen[p]) throw Napi::RangeError::New(env, "transpose: perm is not a permutation");
    seen[p] = true;
  }
  int64_t total = 1;
  for (int64_t d : shape) total *= d;
  requireLength(env, x, total, fn, "x");
  requireLength(env, y, total, fn, "out");
  if (total == 0) return env.Undefined();

  std::vector<int64_t> inStride(r, 1);
  for (size_t k = r; k-- > 1;) inStride[k - 1] = inStride[k] * shape[k];
  // Output dims in output order with both strides; drop size-1 dims, merge neighbours that stay neighbours.
  std::vector<TDim> dims;
  {
    std::vector<TDim> all(r);
    int64_t os = 1;
    for (size_t k = r; k-- > 0;) {
      all[k] = TDim{shape[perm[k]], inStride[perm[k]], os};
      os *= shape[perm[k]];
    }
    for (const TDim& d : all) {
      if (d.n == 1) continue;
      if (!dims.empty() && dims.back().in == d.in * d.n && dims.back().out == d.out * d.n) {
        dims.back() = TDim{dims.back().n * d.n, d.in, d.out};
        continue;
      }
      dims.push_back(d);
    }
  }
  if (dims.size() <= 1) {  // the permutation only moves size-1 dims: a plain copy
    std::memcpy(y.data, x.data, sizeof(float) * total);
    return env.Undefined();
  }

  const TDim last = dims.back();
  if (last.in == 1) {
    // Contiguous runs of `last.n` floats: copy run by run over the outer dims.
    const size_t outerRank = dims.size() - 1;
    const int64_t runs = total / last.n;
    parallelFor(runs, std::max<int64_t>(1, (1 << 15) / last.n), [&](int64_t s, int64_t e) {
      std::vector<int64_t> idx(outerRank);
      int64_t off = 0, rem = s;
      for (size_t k = outerRank; k-- > 0;) {
        idx[k] = rem % dims[k].n;
        rem /= dims[k].n;
        off += idx[k] * dims[k].in;
      }
      for (int64_t run = s; run < e; run++) {
        std::memcpy(y.data + run * last.n, x.data + off, sizeof(float) * last.n);
        for (size_t k = outerRank; k-- > 0;) {
          off += dims[k].in;
          if (++idx[k] < dims[k].n) break;
          off -= dims[k].in * dims[k].n;
          idx[k] = 0;
        }
      }
    });
    return env.Undefined();
  }

  // The input's innermost dim (input stride 1) sits at output position p: transpose (dims[p], last)
  // tiles for every index of the remaining dims.
  size_t p = 0;
  while (dims[p].in != 1) p++;
  const TDim a = dims[p];
  std::vector<TDim> rest;
  for (size_t k = 0; k + 1 < dims.size(); k++)
    if (k != p) rest.push_back(dims[k]);
  int64_t blocks = 1;
  for (const TDim& d : rest) blocks *= d.n;
  const int64_t tilesA = (a.n + kTile - 1) / kTile;
  parallelFor(blocks * tilesA, std::max<int64_t>(1, (1 << 15) / (kTile * last.n)), [&](int64_t s, int64_t e) {
    for (int64_t job = s; job < e; job++) {
      int64_t blk = job / tilesA, ta = job % tilesA;
      int64_t inOff = 0, outOff = 0, rem = blk;
      for (size_t k = rest.size(); k-- > 0;) {
        int64_t i = rem % rest[k].n;
        rem /= rest[k].n;
        inOff += i * rest[k].in;
        outOff += i * rest[k].out;
      }
      const int64_t i0 = ta * kTile, i1 = std::min(a.n, i0 + kTile);
      for (int64_t j0 = 0; j0 < last.n; j0 += kTile) {
        const int64_t j1 = std::min(last.n, j0 + kTile);
        for (int64_t i = i0; i < i1; i++) {
          const float* src = x.data + inOff + i;  // element (i, j) at src[j * last.in]
          float* dst = y.data + outOff + i * a.out;
          for (int64_t j = j0; j < j1; j++) dst[j] = src[j * last.in];
        }
      }
    }
  });
  return env.Undefined();
}

// copyBlock(src, srcShape, srcBegin, dst, dstShape, dstBegin, block): copies the box of shape `block`
// starting at srcBegin in src into dst starting at dstBegin. Slice, Pad, SplitV and Concat are all this.
Napi::Value CopyBlock(const Napi::CallbackInfo& info) {
  const char* fn = "copyBlock";
  Napi::Env env = info.Env();
  F32 src = f32Arg(info, 0, fn, "src");
  std::vector<int64_t> sShape = dimsArg(info, 1, fn, "srcShape"), sBegin = dimsArg(info, 2, fn, "srcBegin");
  F32 dst = f32Arg(info, 3, fn, "dst");
  std::vector<int64_t> dShape = dimsArg(info, 4, fn, "dstShape"), dBegin = dimsArg(info, 5, fn, "dstBegin");
  std::vector<int64_t> block = dimsArg(info, 6, fn, "block");
  const size_t r = block.size();
  if (sShape.size() != r || sBegin.size() != r || dShape.size() != r || dBegin.size() != r) {
    throw Napi::RangeError::New(env, "copyBlock: shapes, begins and block must have one rank");
  }
  int64_t sTotal = 1, dTotal = 1, count = 1;
  for (size_t k = 0; k < r; k++) {
    if (sBegin[k] + block[k] > sShape[k] || dBegin[k] + block[k] > dShape[k]) {
      throw Napi::RangeError::New(env, "copyBlock: the block does not fit in src or dst");
    }
    sTotal *= sShape[k];
    dTotal *= dShape[k];
    count *= block[k];
  }
  requireLength(env, src, sTotal, fn, "src");
  requireLength(env, dst, dTotal, fn, "dst");
  if (count == 0) return env.Undefined();
  // Row-major strides, then the contiguous run: trailing dims the block spans in full in both arrays
  // merge into one memcpy, together with the first dim (from the end) it does not span in full.
  std::vector<int64_t> ss(r, 1), ds(r, 1);
  for (size_t k = r; k-- > 1;) {
    ss[k - 1] = ss[k] * sShape[k];
    ds[k - 1] = ds[k] * dShape[k];
  }
  size_t inner = r;  // dims [inner, r) form the run
  int64_t run = 1;
  while (inner > 0) {
    const size_t k = inner - 1;
    run *= block[k];
    inner = k;
    if (!(block[k] == sShape[k] && block[k] == dShape[k])) break;
  }
  int64_t sOff = 0, dOff = 0;
  for (size_t k = 0; k < r; k++) {
    sOff += sBegin[k] * ss[k];
    dOff += dBegin[k] * ds[k];
  }
  const int64_t runs = count / run;
  parallelFor(runs, std::max<int64_t>(1, (1 << 15) / run), [&](int64_t s, int64_t e) {
    std::vector<int64_t> idx(inner);
    int64_t so = sOff, dof = dOff, rem = s;
    for (size_t k = inner; k-- > 0;) {
      idx[k] = rem % block[k];
      rem /= block[k];
      so += idx[k] * ss[k];
      dof += idx[k] * ds[k];
    }
    for (int64_t i = s; i < e; i++) {
      std::memcpy(dst.data + dof, src.data + so, sizeof(float) * run);
      for (size_t k = inner; k-- > 0;) {
        so += ss[k];
        dof += ds[k];
        if (++idx[k] < block[k]) break;
        so -= ss[k] * block[k];
        dof -= ds[k] * block[k];
        idx[k] = 0;
      }
    }
  });
  return env.Undefined();
}

}  // namespace

void InitLayout(Napi::Env env, Napi::Object exports) {
  exports.Set("transpose", Napi::Function::New(env, Transpose, "transpose"));
  exports.Set("copyBlock", Napi::Function::New(env, CopyBlock, "copyBlock"));
}

}  // namespace mla
