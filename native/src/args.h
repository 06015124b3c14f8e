// Argument unpacking shared by every exported function. Each reader throws a JS TypeError that names
// the argument, so a wrong call from lib/backend/ fails loudly instead of reading stray memory.
#pragma once
#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

namespace mla {

struct F32 {
  float* data = nullptr;
  size_t length = 0;
};

inline Napi::Error typeError(const Napi::Env& env, const char* fn, const char* arg, const char* want) {
  return Napi::TypeError::New(env, std::string(fn) + ": argument '" + arg + "' must be " + want);
}

inline F32 f32Arg(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* arg) {
  if (i >= info.Length() || !info[i].IsTypedArray() ||
      info[i].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    throw typeError(info.Env(), fn, arg, "a Float32Array");
  }
  auto a = info[i].As<Napi::Float32Array>();
  return F32{a.Data(), a.ElementLength()};
}

struct I32 {
  int32_t* data = nullptr;
  size_t length = 0;
};

inline I32 i32Arg(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* arg) {
  if (i >= info.Length() || !info[i].IsTypedArray() ||
      info[i].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    throw typeError(info.Env(), fn, arg, "an Int32Array");
  }
  auto a = info[i].As<Napi::Int32Array>();
  return I32{a.Data(), a.ElementLength()};
}

/** A Float32Array or null/undefined (an absent optional input such as a bias). */
inline F32 f32OrNullArg(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* arg) {
  if (i >= info.Length() || info[i].IsNull() || info[i].IsUndefined()) return F32{};
  return f32Arg(info, i, fn, arg);
}

inline int64_t intArg(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* arg) {
  if (i >= info.Length() || !info[i].IsNumber()) throw typeError(info.Env(), fn, arg, "a number");
  double v = info[i].As<Napi::Number>().DoubleValue();
  if (v < 0 || v != static_cast<double>(static_cast<int64_t>(v))) {
    throw typeError(info.Env(), fn, arg, "a non-negative integer");
  }
  return static_cast<int64_t>(v);
}

inline double numArg(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* arg) {
  if (i >= info.Length() || !info[i].IsNumber()) throw typeError(info.Env(), fn, arg, "a number");
  return info[i].As<Napi::Number>().DoubleValue();
}

inline bool boolArg(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* arg) {
  if (i >= info.Length() || !info[i].IsBoolean()) throw typeError(info.Env(), fn, arg, "a boolean");
  return info[i].As<Napi::Boolean>().Value();
}

/** A shape or list of indices, given as an Int32Array. */
inline std::vector<int64_t> dimsArg(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* arg) {
  if (i >= info.Length() || !info[i].IsTypedArray() ||
      info[i].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    throw typeError(info.Env(), fn, arg, "an Int32Array");
  }
  auto a = info[i].As<Napi::Int32Array>();
  std::vector<int64_t> out(a.ElementLength());
  for (size_t k = 0; k < out.size(); k++) {
    if (a[k] < 0) throw typeError(info.Env(), fn, arg, "non-negative");
    out[k] = a[k];
  }
  return out;
}

/** Throws a RangeError unless the buffer holds at least `need` elements. */
template <typename View>
inline void requireLength(const Napi::Env& env, const View& a, int64_t need, const char* fn, const char* arg) {
  if (static_cast<int64_t>(a.length) < need) {
    throw Napi::RangeError::New(env, std::string(fn) + ": '" + arg + "' has " + std::to_string(a.length) +
                                         " elements but the shapes need " + std::to_string(need));
  }
}

}  // namespace mla
