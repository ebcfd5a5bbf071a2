#include "lambda/runtime.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "net/address.h"
#include "rowcache/row.h"

namespace rowcache {

namespace {

constexpr const char* kPrefix = "/2018-06-01/runtime";

int64_t EpochMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::string LambdaErrorJson(const std::string& error_type, const std::string& message) {
  std::string out = "{\"errorMessage\": ";
  AppendJsonString(out, message);
  out += ", \"errorType\": ";
  AppendJsonString(out, error_type);
  out += ", \"stackTrace\": []}";
  return out;
}

Result<RuntimeClient> RuntimeClient::Open(const std::string& api) {
  std::string host;
  uint16_t port = 0;
  Status s = ParseHostPort("AWS_LAMBDA_RUNTIME_API", api, &host, &port, /*min_port=*/1);
  if (!s.ok()) return s;
  return RuntimeClient(host, port);
}

Result<Invocation> RuntimeClient::Next() {
  HttpRequest req;
  req.target = std::string(kPrefix) + "/invocation/next";
  // No timeout: the environment is frozen between events while this waits.
  auto resp = http_.Do(req, Deadline::max());
  if (!resp.ok()) return resp.status();
  if (resp->status != 200) {
    return Status::Unavailable("runtime API: GET invocation/next answered HTTP " +
                               std::to_string(resp->status) + ": " + resp->body.substr(0, 200));
  }
  Invocation inv;
  inv.request_id = resp->Header("lambda-runtime-aws-request-id");
  if (inv.request_id.empty()) return Status::Unavailable("runtime API: invocation without a request id");
  std::string deadline = resp->Header("lambda-runtime-deadline-ms");
  if (!deadline.empty()) inv.deadline_ms = std::strtoll(deadline.c_str(), nullptr, 10);
  inv.trace_id = resp->Header("lambda-runtime-trace-id");
  inv.function_arn = resp->Header("lambda-runtime-invoked-function-arn");
  inv.event = std::move(resp->body);
  return inv;
}

Status RuntimeClient::Post(const std::string& target, const std::string& body,
                           const std::string& error_type) {
  HttpRequest req;
  req.method = "POST";
  req.target = target;
  req.body = body;
  req.headers["Content-Type"] = "application/json";
  if (!error_type.empty()) req.headers["Lambda-Runtime-Function-Error-Type"] = error_type;
  auto resp = http_.Do(req, std::chrono::steady_clock::now() + std::chrono::seconds(30));
  if (!resp.ok()) return resp.status();
  if (resp->status != 202) {
    return Status::Unavailable("runtime API: POST " + target + " answered HTTP " +
                               std::to_string(resp->status) + ": " + resp->body.substr(0, 200));
  }
  return Status::OK();
}

Status RuntimeClient::Respond(const std::string& request_id, const std::string& body) {
  return Post(std::string(kPrefix) + "/invocation/" + request_id + "/response", body, "");
}

Status RuntimeClient::Fail(const std::string& request_id, const std::string& error_type,
                           const std::string& message) {
  return Post(std::string(kPrefix) + "/invocation/" + request_id + "/error",
              LambdaErrorJson(error_type, message), error_type);
}

Status RuntimeClient::InitFail(const std::string& error_type, const std::string& message) {
  return Post(std::string(kPrefix) + "/init/error", LambdaErrorJson(error_type, message), error_type);
}

Status RunInvocationLoop(RuntimeClient& client, const std::function<std::string(const std::string&)>& handler,
                         const LoopOptions& opts) {
  return RunInvocationLoop(client, std::function<std::string(const Invocation&)>([&](const Invocation& inv) {
                             return handler(inv.event);
                           }),
                           opts);
}

Status RunInvocationLoop(RuntimeClient& client, const std::function<std::string(const Invocation&)>& handler,
                         const LoopOptions& opts) {
  auto now_ms = opts.now_ms ? opts.now_ms : EpochMillis;
  for (uint64_t served = 0; opts.max_invocations == 0 || served < opts.max_invocations; ++served) {
    auto inv = client.Next();
    if (!inv.ok()) return inv.status();
    if (inv->trace_id.empty()) {
      ::unsetenv("_X_AMZN_TRACE_ID");
    } else {
      ::setenv("_X_AMZN_TRACE_ID", inv->trace_id.c_str(), 1);
    }
    Status posted;
    int64_t left = inv->deadline_ms > 0 ? inv->deadline_ms - now_ms() : INT64_MAX;
    if (left < opts.min_remaining_ms) {
      posted = client.Fail(inv->request_id, "Runtime.DeadlineExceeded",
                           "invocation arrived with " + std::to_string(left) + " ms left; not started");
    } else {
      std::string result;
      std::string failure;
      try {
        result = handler(*inv);
      } catch (const std::exception& e) {
        failure = e.what();
      } catch (...) {
        failure = "unknown exception";
      }
      posted = failure.empty() ? client.Respond(inv->request_id, result)
                               : client.Fail(inv->request_id, "Runtime.HandlerException", failure);
    }
    if (!posted.ok()) {
      // The invocation is lost to the runtime (it will time out); keep serving.
      std::fprintf(stderr, "rowcache lambda: %s\n", posted.message().c_str());
    }
  }
  return Status::OK();
}

}  // namespace rowcache
