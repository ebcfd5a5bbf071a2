// Test environment helpers: URLs of the real servers for integration tests.
#pragma once

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace rowcache::testing {

// The value of env var `var` (e.g. ROWCACHE_TEST_MYSQL). When it is unset the
// test is skipped, unless ROWCACHE_REQUIRE_SERVERS=1 (set by scripts/test.sh and
// CI), where a missing server URL is a failure: integration tests never pass by
// being skipped there.
#define ROWCACHE_REQUIRE_URL(var, out)                                 \
  do {                                                                 \
    const char* v_ = std::getenv(var);                                 \
    if (v_ == nullptr || *v_ == '\0') {                                \
      const char* req_ = std::getenv("ROWCACHE_REQUIRE_SERVERS");      \
      if (req_ != nullptr && std::string(req_) == "1") {               \
        FAIL() << var << " is not set but ROWCACHE_REQUIRE_SERVERS=1"; \
      }                                                                \
      GTEST_SKIP() << var << " not set (run through scripts/test.sh)"; \
    }                                                                  \
    out = v_;                                                          \
  } while (0)

// Runs a shell command; its standard output (and error, with stderr), without
// the trailing newlines.
inline std::string RunShell(const std::string& cmd, bool with_stderr = false) {
  std::string out;
  if (FILE* f = popen((with_stderr ? cmd + " 2>&1" : cmd).c_str(), "r")) {
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
    pclose(f);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

}  // namespace rowcache::testing
