#include "load/loader.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "load/csv.h"
#include "rowcache/service.h"

namespace rowcache {

namespace {

constexpr size_t kChunk = 1 << 16;

// Reads the whole source through the parser, handing each good row (or each
// problem) to the callbacks. Returns a source error, or OK at the end.
template <class OnRow, class OnBad, class OnChunk>
Status Scan(ByteSource& src, OnRow&& on_row, OnBad&& on_bad, OnChunk&& on_chunk) {
  CsvParser parser;
  std::vector<CsvRecord> recs;
  std::vector<std::string> errors;
  std::string buf(kChunk, '\0');
  bool first = true;
  auto drain = [&]() -> Status {
    for (auto& e : errors) on_bad(std::move(e));
    errors.clear();
    for (auto& rec : recs) {
      if (first) {
        first = false;
        if (IsHeader(rec)) continue;
      }
      auto row = RowFromRecord(std::move(rec));
      if (row.ok()) {
        Status s = on_row(std::move(row.value()));
        if (!s.ok()) return s;
      } else {
        on_bad(row.status().message());
      }
    }
    recs.clear();
    return Status::OK();
  };
  for (;;) {
    auto n = src.Read(buf.data(), buf.size());
    if (!n.ok()) return n.status();
    if (*n == 0) break;
    parser.Feed(std::string_view(buf.data(), *n), &recs, &errors);
    Status s = drain();
    if (!s.ok()) return s;
    on_chunk(*n);
  }
  parser.Finish(&recs, &errors);
  return drain();
}

// Writes batches on its own thread, so that parsing the next batch overlaps
// the database inserting the current one. At most `depth` batches wait.
class BatchWriter {
 public:
  BatchWriter(std::function<Status(std::vector<Row>&)> write, size_t depth)
      : write_(std::move(write)), depth_(depth), thread_([this] { Run(); }) {}
  ~BatchWriter() { (void)Finish(); }

  // Queues a batch; blocks while the queue is full. The writer's error, if
  // it has failed (nothing more is written then).
  Status Push(std::vector<Row>&& batch) {
    std::unique_lock l(mu_);
    cv_.wait(l, [&] { return queue_.size() < depth_ || !status_.ok(); });
    if (!status_.ok()) return status_;
    queue_.push_back(std::move(batch));
    cv_.notify_all();
    return Status::OK();
  }

  // Waits until every queued batch is written; the first error.
  Status Finish() {
    {
      std::lock_guard l(mu_);
      done_ = true;
      cv_.notify_all();
    }
    if (thread_.joinable()) thread_.join();
    return status_;
  }

 private:
  void Run() {
    for (;;) {
      std::vector<Row> batch;
      {
        std::unique_lock l(mu_);
        cv_.wait(l, [&] { return !queue_.empty() || done_; });
        if (queue_.empty()) return;
        batch = std::move(queue_.front());
        queue_.pop_front();
        cv_.notify_all();
      }
      Status s = write_(batch);
      if (!s.ok()) {
        std::lock_guard l(mu_);
        status_ = s;
        queue_.clear();
        cv_.notify_all();
        return;
      }
    }
  }

  std::function<Status(std::vector<Row>&)> write_;
  size_t depth_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::vector<Row>> queue_;
  bool done_ = false;
  Status status_;
  std::thread thread_;
};

}  // namespace

Result<LoadReport> LoadCsv(ByteSource& src, Store& store, const LoadOptions& opts, LoadReport* partial) {
  LoadReport local;
  LoadReport& rep = partial ? *partial : local;
  rep = LoadReport{};
  auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  auto note_bad = [&](std::string msg) {
    ++rep.bad;
    if (rep.bad_rows.size() < 1000) rep.bad_rows.push_back(std::move(msg));
  };

  if (opts.strict) {
    Status s = Scan(
        src, [](Row&&) { return Status::OK(); }, note_bad, [](size_t) {});
    if (!s.ok()) return s;
    if (rep.bad > 0) {
      return Status::InvalidArgument(std::to_string(rep.bad) +
                                     " bad row(s), nothing loaded; first: " + rep.bad_rows.front());
    }
    s = src.Rewind();
    if (!s.ok()) return s;
  }

  // Counters the parsing thread updates and the writer's progress reports read.
  std::atomic<uint64_t> bytes_read{0};
  std::atomic<int64_t> bad_seen{rep.bad};
  auto note_bad_counted = [&](std::string msg) {
    note_bad(std::move(msg));
    bad_seen.store(rep.bad, std::memory_order_relaxed);
  };
  // Runs on the writer thread; touches only rep's load counters.
  auto write = [&](std::vector<Row>& batch) -> Status {
    auto r = store.Load(batch, opts.mode);
    if (!r.ok()) return r.status();
    rep.inserted += r->inserted;
    rep.replaced += r->replaced;
    rep.skipped += r->skipped;
    if (opts.cache) {
      std::vector<KeyAndGuard> kg;
      kg.reserve(batch.size());
      for (const Row& row : batch) {
        std::string k = CacheKeyFor(opts.key_prefix, row.id);
        kg.push_back(KeyAndGuard{k, k + opts.guard_suffix});
      }
      Status c = opts.cache->Invalidate(kg);
      if (!c.ok()) {
        return Status::Unavailable("rows committed but their cache entries could not be invalidated: " +
                                   c.message());
      }
      rep.invalidated += static_cast<int64_t>(kg.size());
    }
    if (opts.progress) {
      opts.progress(LoadProgress{rep.inserted + rep.replaced + rep.skipped, bad_seen.load(),
                                 bytes_read.load(), src.Size(), elapsed()});
    }
    return Status::OK();
  };
  BatchWriter writer(write, /*depth=*/1);
  std::vector<Row> batch;
  batch.reserve(opts.batch_rows);
  Status s = Scan(
      src,
      [&](Row&& row) -> Status {
        batch.push_back(std::move(row));
        if (batch.size() < opts.batch_rows) return Status::OK();
        Status p = writer.Push(std::move(batch));
        batch = std::vector<Row>();
        batch.reserve(opts.batch_rows);
        return p;
      },
      note_bad_counted, [&](size_t n) { bytes_read.fetch_add(n, std::memory_order_relaxed); });
  if (s.ok() && !batch.empty()) s = writer.Push(std::move(batch));
  Status w = writer.Finish();
  if (s.ok()) s = w;
  rep.bytes = bytes_read.load();
  rep.seconds = elapsed();
  if (!s.ok()) return s;
  return rep;
}

}  // namespace rowcache
