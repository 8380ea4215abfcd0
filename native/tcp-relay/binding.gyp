{
  "targets": [
    {
      "target_name": "tcp_relay",
      "sources": ["tcp_relay.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE"]
    }
  ]
}
