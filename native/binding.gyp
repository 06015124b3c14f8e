# Node-API addon with the native CPU kernels (see native/README.md).
# Linux links OpenBLAS (apt: libopenblas-dev); macOS links Apple's Accelerate framework.
{
  "targets": [
    {
      "target_name": "mla_native",
      "sources": [
        "src/addon.cc",
        "src/blas.cc",
        "src/matmul.cc",
        "src/parallel.cc",
        "src/gather.cc",
        "src/elementwise.cc",
        "src/reduce.cc",
        "src/layout.cc"
      ],
      "dependencies": [
        "<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"
      ],
      "defines": ["NAPI_VERSION=8"],
      # -fno-trapping-math lets GCC turn the kernels' float selects (relu, clamps, NaN checks) into vector
      # blends; nothing here reads floating-point exception flags. No -ffast-math: NaN and inf must behave.
      "cflags_cc": ["-std=c++17", "-O3", "-fno-math-errno", "-fno-trapping-math"],
      "conditions": [
        ["OS=='linux'", {
          "libraries": ["-lopenblas", "-lpthread"],
          "conditions": [
            # The addon is always built on the machine that runs it (scripts/build-native.js),
            # so tuning for the host CPU is safe and lets the element-wise loops vectorise widely.
            ["target_arch=='x64'", { "cflags_cc": ["-march=native"] }]
          ]
        }],
        ["OS=='mac'", {
          "defines": ["MLA_USE_ACCELERATE", "ACCELERATE_NEW_LAPACK"],
          "libraries": ["-framework Accelerate"],
          "xcode_settings": {
            "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
            "OTHER_CPLUSPLUSFLAGS": ["-O3", "-fno-math-errno", "-fno-trapping-math"],
            "MACOSX_DEPLOYMENT_TARGET": "11.0"
          }
        }]
      ]
    }
  ]
}
