#include "aws/s3_source.h"

#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <deque>
#include <mutex>
#include <thread>

#include "aws/client.h"
#include "rowcache/url.h"

namespace rowcache {

namespace {

// The <Code> of an S3 XML error body, if any.
std::string ErrorCode(const std::string& body) {
  auto a = body.find("<Code>"), b = body.find("</Code>");
  return a != std::string::npos && b != std::string::npos && b > a ? body.substr(a + 6, b - a - 6) : "";
}

class S3Source final : public ByteSource {
 public:
  S3Source(std::string bucket, std::string key, S3Options opts)
      : bucket_(std::move(bucket)), key_(std::move(key)), opts_(std::move(opts)) {
    describe_ = "s3://" + bucket_ + "/" + key_;
  }
  ~S3Source() override { StopTransfer(); }

  Result<size_t> Read(char* buf, size_t cap) override {
    if (!started_) Start();
    std::unique_lock l(mu_);
    cv_.wait(l, [&] { return !chunks_.empty() || done_; });
    if (chunks_.empty()) {
      if (!status_.ok()) return status_;
      return size_t{0};
    }
    std::string& front = chunks_.front();
    size_t n = std::min(cap, front.size() - offset_);
    std::memcpy(buf, front.data() + offset_, n);
    offset_ += n;
    buffered_ -= n;
    if (offset_ == front.size()) {
      chunks_.pop_front();
      offset_ = 0;
    }
    cv_.notify_all();
    return n;
  }

  Status Rewind() override {
    StopTransfer();
    started_ = false;
    return Status::OK();
  }

  std::optional<uint64_t> Size() const override {
    std::lock_guard l(mu_);
    return size_;
  }
  std::string Describe() const override { return describe_; }

 private:
  void Start() {
    {
      std::lock_guard l(mu_);
      chunks_.clear();
      offset_ = buffered_ = 0;
      received_ = 0;
      done_ = abort_ = false;
      status_ = Status::OK();
    }
    started_ = true;
    thread_ = std::thread([this] { Transfer(); });
  }

  void StopTransfer() {
    {
      std::lock_guard l(mu_);
      abort_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  // The sink of the transfer: waits for room in the buffer (or a stop).
  Status OnBody(std::string_view piece) {
    std::unique_lock l(mu_);
    cv_.wait(l, [&] { return buffered_ < opts_.buffer_bytes || abort_; });
    if (abort_) return Status::Unavailable("transfer stopped");
    chunks_.emplace_back(piece);
    buffered_ += piece.size();
    received_ += piece.size();
    cv_.notify_all();
    return Status::OK();
  }

  Status Get() {
    // Virtual-hosted style on AWS; path style against an endpoint (a local
    // store, which serves every bucket on one host).
    std::string endpoint = opts_.endpoint.empty()
                               ? "https://" + bucket_ + ".s3." + opts_.region + ".amazonaws.com"
                               : opts_.endpoint;
    auto client = AwsClient::Open(endpoint, "s3", opts_.region, opts_.creds);
    if (!client.ok()) return client.status();
    AwsRequest req;
    req.path = opts_.endpoint.empty() ? "/" + UriEncode(key_, false)
                                      : "/" + UriEncode(bucket_, true) + "/" + UriEncode(key_, false);
    BodySink sink;
    sink.on_body = [this](std::string_view piece) { return OnBody(piece); };
    sink.stall_timeout = std::chrono::seconds(30);
    auto resp = (*client)->Call(req, std::chrono::steady_clock::now() + std::chrono::seconds(30), &sink);
    std::lock_guard l(mu_);
    if (abort_) return Status::Unavailable(describe_ + ": transfer stopped");
    if (!resp.ok()) {
      return Status::Unavailable(describe_ + ": " + resp.status().message() +
                                 (received_ ? " after " + std::to_string(received_) + " bytes" : ""));
    }
    int code = resp->status;
    std::string c = ErrorCode(resp->body);
    if (code == 404) {
      return Status::NotFound(describe_ + ": " +
                              (c == "NoSuchBucket" ? "no such bucket"
                               : c == "NoSuchKey"  ? "no such key"
                                                   : "not found") +
                              (c.empty() ? "" : " (" + c + ")"));
    }
    if (code == 403) {
      return Status::Unavailable(describe_ + ": access denied (" + (c.empty() ? "403" : c) +
                                 "): check the credentials, the region and the bucket policy");
    }
    if (code != 200) {
      return Status::Unavailable(describe_ + ": HTTP " + std::to_string(code) +
                                 (c.empty() ? "" : " (" + c + ")"));
    }
    std::string length = resp->Header("content-length");
    if (!length.empty()) {
      uint64_t n = std::strtoull(length.c_str(), nullptr, 10);
      size_ = n;
      if (n != received_) {
        return Status::Unavailable(describe_ + ": connection lost after " + std::to_string(received_) +
                                   " of " + std::to_string(n) + " bytes");
      }
    }
    return Status::OK();
  }

  void Transfer() {
    Status st = Get();
    {
      std::lock_guard l(mu_);
      status_ = st;
      done_ = true;
    }
    cv_.notify_all();
  }

  std::string bucket_, key_;
  S3Options opts_;
  std::string describe_;
  bool started_ = false;
  std::thread thread_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> chunks_;
  size_t offset_ = 0, buffered_ = 0;
  uint64_t received_ = 0;
  std::optional<uint64_t> size_;
  bool done_ = false, abort_ = false;
  Status status_;
};

}  // namespace

Result<std::unique_ptr<ByteSource>> OpenS3Source(const std::string& url, const S3Options& opts) {
  if (url.rfind("s3://", 0) != 0) {
    return Status::InvalidArgument("'" + RedactUrlText(url) + "' is not an s3:// URL");
  }
  std::string rest = url.substr(5);
  auto slash = rest.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == rest.size()) {
    return Status::InvalidArgument("'" + RedactUrlText(url) + "': expected s3://bucket/key");
  }
  if (opts.creds.access_key.empty() || opts.creds.secret_key.empty()) {
    return Status::InvalidArgument(
        "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
        "(and AWS_SESSION_TOKEN for temporary credentials)");
  }
  return std::unique_ptr<ByteSource>(
      std::make_unique<S3Source>(rest.substr(0, slash), rest.substr(slash + 1), opts));
}

}  // namespace rowcache
