// The AWS Lambda custom-runtime front door: the Runtime API loop
// (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html).
//
//   GET  /2018-06-01/runtime/invocation/next            (waits, no timeout)
//   POST /2018-06-01/runtime/invocation/{id}/response   the handler's result
//   POST /2018-06-01/runtime/invocation/{id}/error      a failed invocation
//   POST /2018-06-01/runtime/init/error                 a failed start-up
//
// The handler is the same core the HTTP server uses; with API Gateway's
// non-proxy integration the event is the POST body and the result is the
// response document, so invalid input is a normal result with a 4xx
// statusCode, not a Lambda error. Errors are reserved for what the handler
// could not turn into a result (an exception, a deadline already passed).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "net/http_client.h"
#include "rowcache/status.h"

namespace rowcache {

struct Invocation {
  std::string request_id;    // Lambda-Runtime-Aws-Request-Id
  int64_t deadline_ms = 0;   // Lambda-Runtime-Deadline-Ms (Unix epoch ms; 0 if absent)
  std::string trace_id;      // Lambda-Runtime-Trace-Id
  std::string function_arn;  // Lambda-Runtime-Invoked-Function-Arn
  std::string event;         // the payload
};

class RuntimeClient {
 public:
  // api: the value of AWS_LAMBDA_RUNTIME_API ("host:port").
  static Result<RuntimeClient> Open(const std::string& api);

  Result<Invocation> Next();
  Status Respond(const std::string& request_id, const std::string& body);
  Status Fail(const std::string& request_id, const std::string& error_type, const std::string& message);
  Status InitFail(const std::string& error_type, const std::string& message);

 private:
  explicit RuntimeClient(std::string host, int port) : http_(std::move(host), port, {}, 7 << 20) {}
  Status Post(const std::string& target, const std::string& body, const std::string& error_type);

  HttpClient http_;
};

// The error document the Runtime API expects.
std::string LambdaErrorJson(const std::string& error_type, const std::string& message);

struct LoopOptions {
  // Most invocations to serve before returning (0: forever). For tests.
  uint64_t max_invocations = 0;
  // An invocation with less time than this left is failed without running.
  int64_t min_remaining_ms = 50;
  // Milliseconds since the Unix epoch; injectable for tests.
  std::function<int64_t()> now_ms;
};

// Serves invocations with handler(event) -> response document until the
// Runtime API cannot be reached (returns that status) or max_invocations.
// Sets _X_AMZN_TRACE_ID for each invocation.
Status RunInvocationLoop(RuntimeClient& client, const std::function<std::string(const std::string&)>& handler,
                         const LoopOptions& opts = {});
// The same with the whole invocation (its request id, deadline, ...) for the handler.
Status RunInvocationLoop(RuntimeClient& client, const std::function<std::string(const Invocation&)>& handler,
                         const LoopOptions& opts = {});

}  // namespace rowcache
