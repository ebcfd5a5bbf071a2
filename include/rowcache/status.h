// Status and Result<T>: cheap values for expected failures.
//
// Every fallible operation in rowcache returns a Status (or a Result<T>, which
// is a T or a non-OK Status). Exceptions from drivers and libraries are caught
// at the adapter boundary and converted here. One function, HttpStatusFor(),
// maps a Code to the HTTP status the front doors answer with.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace rowcache {

enum class Code {
  kOk = 0,
  kInvalidArgument,  // the request is malformed or a value is out of bounds (4xx)
  kNotFound,         // a named object does not exist (404 for routes, bucket/key for S3)
  kTooLarge,         // body or batch over its limit (413)
  kUnavailable,      // a backend is down, unreachable or timed out (503)
  kInternal,         // a bug or an unexpected backend answer (500)
};

class Status {
 public:
  Status() = default;  // OK
  static Status OK() { return Status(); }
  static Status InvalidArgument(std::string msg) { return {Code::kInvalidArgument, std::move(msg)}; }
  static Status NotFound(std::string msg) { return {Code::kNotFound, std::move(msg)}; }
  static Status TooLarge(std::string msg) { return {Code::kTooLarge, std::move(msg)}; }
  static Status Unavailable(std::string msg) { return {Code::kUnavailable, std::move(msg)}; }
  static Status Internal(std::string msg) { return {Code::kInternal, std::move(msg)}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return msg_; }
  bool IsInvalidArgument() const { return code_ == Code::kInvalidArgument; }
  bool IsUnavailable() const { return code_ == Code::kUnavailable; }
  bool IsNotFound() const { return code_ == Code::kNotFound; }

  // "Unavailable: redis 127.0.0.1:6379: connection refused"
  std::string ToString() const;

 private:
  Status(Code c, std::string m) : code_(c), msg_(std::move(m)) {}
  Code code_ = Code::kOk;
  std::string msg_;
};

// The HTTP status a front door answers for a Status: 200, 400, 404, 413, 503, 500.
int HttpStatusFor(const Status& s);
const char* CodeName(Code c);

// A value or the Status explaining why there is none.
template <class T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    assert(!std::get<Status>(v_).ok() && "Result built from an OK Status has no value");
  }
  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace rowcache
