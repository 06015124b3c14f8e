// Each source file exports its functions through one Init* call, gathered in addon.cc.
#pragma once
#include <napi.h>

namespace mla {
void InitMatmul(Napi::Env env, Napi::Object exports);
void InitGather(Napi::Env env, Napi::Object exports);
void InitElementwise(Napi::Env env, Napi::Object exports);
void InitReduce(Napi::Env env, Napi::Object exports);
void InitLayout(Napi::Env env, Napi::Object exports);
}  // namespace mla
