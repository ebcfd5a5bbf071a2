#include "load/source.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "aws/s3_source.h"
#include "rowcache/url.h"

namespace rowcache {

namespace {

class FileSource final : public ByteSource {
 public:
  FileSource(std::string path, FILE* f, std::optional<uint64_t> size)
      : path_(std::move(path)), f_(f), size_(size) {}
  ~FileSource() override {
    if (f_ && f_ != stdin) std::fclose(f_);
  }
  Result<size_t> Read(char* buf, size_t cap) override {
    size_t n = std::fread(buf, 1, cap, f_);
    if (n == 0 && std::ferror(f_)) return Status::Unavailable(path_ + ": " + std::strerror(errno));
    return n;
  }
  Status Rewind() override {
    if (f_ == stdin || std::fseek(f_, 0, SEEK_SET) != 0) {
      return Status::InvalidArgument(path_ + ": cannot be read twice (needed by --strict)");
    }
    return Status::OK();
  }
  std::optional<uint64_t> Size() const override { return size_; }
  std::string Describe() const override { return path_; }

 private:
  std::string path_;
  FILE* f_;
  std::optional<uint64_t> size_;
};

}  // namespace

Result<std::unique_ptr<ByteSource>> OpenSource(const std::string& from, const S3Options* s3) {
  if (from.rfind("s3://", 0) == 0) {
    S3Options defaults;
    if (!s3) defaults.creds = CredentialsFromEnvironment();
    return OpenS3Source(from, s3 ? *s3 : defaults);
  }
  if (from == "-")
    return std::unique_ptr<ByteSource>(std::make_unique<FileSource>("stdin", stdin, std::nullopt));
  FILE* f = std::fopen(from.c_str(), "rb");
  if (!f) {
    // Redacted: a database URL given as --from by mistake must not show its password.
    std::string shown = RedactUrlText(from);
    return errno == ENOENT ? Status::NotFound(shown + ": no such file")
                           : Status::Unavailable(shown + ": " + std::strerror(errno));
  }
  struct stat st {};
  std::optional<uint64_t> size;
  if (::fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode)) size = static_cast<uint64_t>(st.st_size);
  return std::unique_ptr<ByteSource>(std::make_unique<FileSource>(from, f, size));
}

}  // namespace rowcache
