// Thread-locals on the hot path use the initial-exec TLS model: a plain %fs-relative access
// instead of a __tls_get_addr call, which -fPIC code otherwise pays on every access (measured: a
// sampled span spent ~8 % of its time there).
#pragma once

#define SKEIN_HOT_TLS __attribute__((tls_model("initial-exec"))) thread_local
