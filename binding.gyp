{
  "targets": [
    {
      "target_name": "rawrecv",
      "sources": ["native/addon.cc", "native/poller.cc", "native/message.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra"],
      "conditions": [
        ["OS=='win'", {
          "sources": ["native/win32.cc"],
          "libraries": ["ws2_32.lib", "iphlpapi.lib"]
        }, {
          "sources": ["native/posix.cc"]
        }],
        ["OS=='linux'", {
          "sources": ["native/runtime_linux.cc"],
          "ldflags": [
            "-static-libstdc++",
            "-static-libgcc",
            "-Wl,--version-script=<(module_root_dir)/native/exports.map"
          ]
        }],
        ["OS=='mac'", {
          "xcode_settings": {
            "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
            "MACOSX_DEPLOYMENT_TARGET": "10.15"
          }
        }]
      ]
    }
  ]
}
