#include "load/s3_source.h"

#include <curl/curl.h>

#include <condition_variable>
#include <cstring>
#include <cstdlib>
#include <ctime>
#include <deque>
#include <mutex>
#include <thread>

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
      error_body_.clear();
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

  static size_t OnData(char* p, size_t size, size_t n, void* self_ptr) {
    auto* self = static_cast<S3Source*>(self_ptr);
    size_t len = size * n;
    long code = 0;
    curl_easy_getinfo(self->curl_, CURLINFO_RESPONSE_CODE, &code);
    std::unique_lock l(self->mu_);
    if (code >= 300) {  // an error document: keep (some of) it for the message
      if (self->error_body_.size() < 4096) self->error_body_.append(p, std::min(len, size_t{4096}));
      return len;
    }
    self->cv_.wait(l, [&] { return self->buffered_ < self->opts_.buffer_bytes || self->abort_; });
    if (self->abort_) return 0;  // makes curl stop with CURLE_WRITE_ERROR
    self->chunks_.emplace_back(p, len);
    self->buffered_ += len;
    self->received_ += len;
    self->cv_.notify_all();
    return len;
  }

  void Transfer() {
    std::string host, base;
    if (opts_.endpoint.empty()) {
      host = bucket_ + ".s3." + opts_.region + ".amazonaws.com";
      base = "https://" + host;
    } else {
      base = opts_.endpoint;
      while (!base.empty() && base.back() == '/') base.pop_back();
      auto scheme = base.find("://");
      host = scheme == std::string::npos ? base : base.substr(scheme + 3);
      if (auto slash = host.find('/'); slash != std::string::npos) host = host.substr(0, slash);
    }
    std::string path = opts_.endpoint.empty() ? "/" + UriEncode(key_, false)
                                              : "/" + UriEncode(bucket_, true) + "/" + UriEncode(key_, false);
    std::string payload = Sha256Hex("");
    std::string date = AmzDateNow();
    std::map<std::string, std::string> h{{"host", host}, {"x-amz-content-sha256", payload}, {"x-amz-date", date}};
    if (!opts_.creds.session_token.empty()) h["x-amz-security-token"] = opts_.creds.session_token;
    std::string auth = SignV4(opts_.creds, opts_.region, "s3", "GET", path, "", h, payload, date);

    curl_ = curl_easy_init();
    curl_slist* headers = nullptr;
    headers = curl_slist_append(headers, ("Authorization: " + auth).c_str());
    for (const auto& [k, v] : h) {
      if (k != "host") headers = curl_slist_append(headers, (k + ": " + v).c_str());
    }
    std::string url = base + path;
    curl_easy_setopt(curl_, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, &S3Source::OnData);
    curl_easy_setopt(curl_, CURLOPT_WRITEDATA, this);
    curl_easy_setopt(curl_, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(curl_, CURLOPT_LOW_SPEED_LIMIT, 1L);  // stalled for 30 s: give up
    curl_easy_setopt(curl_, CURLOPT_LOW_SPEED_TIME, 30L);
    curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
    CURLcode rc = curl_easy_perform(curl_);
    long code = 0;
    curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &code);
    curl_off_t length = -1;
    curl_easy_getinfo(curl_, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
    Status st;
    {
      std::lock_guard l(mu_);
      if (abort_) {
        st = Status::Unavailable(describe_ + ": transfer stopped");
      } else if (rc != CURLE_OK) {
        st = Status::Unavailable(describe_ + ": " + curl_easy_strerror(rc) +
                                 (received_ ? " after " + std::to_string(received_) + " bytes" : ""));
      } else if (code == 404) {
        std::string c = ErrorCode(error_body_);
        st = Status::NotFound(describe_ + ": " +
                              (c == "NoSuchBucket" ? "no such bucket" : c == "NoSuchKey" ? "no such key" : "not found") +
                              (c.empty() ? "" : " (" + c + ")"));
      } else if (code == 403) {
        std::string c = ErrorCode(error_body_);
        st = Status::Unavailable(describe_ + ": access denied (" + (c.empty() ? "403" : c) +
                                 "): check the credentials, the region and the bucket policy");
      } else if (code != 200) {
        std::string c = ErrorCode(error_body_);
        st = Status::Unavailable(describe_ + ": HTTP " + std::to_string(code) + (c.empty() ? "" : " (" + c + ")"));
      } else if (length >= 0 && static_cast<uint64_t>(length) != received_) {
        st = Status::Unavailable(describe_ + ": connection lost after " + std::to_string(received_) + " of " +
                                 std::to_string(length) + " bytes");
      }
      status_ = st;
      if (length >= 0) size_ = static_cast<uint64_t>(length);
      done_ = true;
    }
    cv_.notify_all();
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl_);
    curl_ = nullptr;
  }

  std::string bucket_, key_;
  S3Options opts_;
  std::string describe_;
  bool started_ = false;
  std::thread thread_;
  CURL* curl_ = nullptr;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> chunks_;
  size_t offset_ = 0, buffered_ = 0;
  uint64_t received_ = 0;
  std::optional<uint64_t> size_;
  bool done_ = false, abort_ = false;
  Status status_;
  std::string error_body_;
};

}  // namespace

Result<std::unique_ptr<ByteSource>> OpenS3Source(const std::string& url, const S3Options& opts) {
  if (url.rfind("s3://", 0) != 0) return Status::InvalidArgument("'" + url + "' is not an s3:// URL");
  std::string rest = url.substr(5);
  auto slash = rest.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == rest.size()) {
    return Status::InvalidArgument("'" + url + "': expected s3://bucket/key");
  }
  if (opts.creds.access_key.empty() || opts.creds.secret_key.empty()) {
    return Status::InvalidArgument("no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
                                   "(and AWS_SESSION_TOKEN for temporary credentials)");
  }
  static std::once_flag init;
  std::call_once(init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  return std::unique_ptr<ByteSource>(std::make_unique<S3Source>(rest.substr(0, slash), rest.substr(slash + 1), opts));
}

}  // namespace rowcache
