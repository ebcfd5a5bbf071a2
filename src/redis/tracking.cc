#include "redis/tracking.h"

#include <hiredis/hiredis.h>
#include <poll.h>

#include <cstdio>
#include <deque>

namespace rowcache::redis {

struct Tracker::Node {
  NodeAddress addr;
  std::unique_ptr<Connection> sub, ctl;
  std::deque<int64_t> pings;  // send times (steady ns) of the PINGs not yet answered
  int64_t last_ping = 0;
  int64_t coherent_as_of = 0;
};

Tracker::Tracker(std::shared_ptr<Client> client, std::string prefix, Callbacks callbacks)
    : client_(std::move(client)), prefix_(std::move(prefix)), cb_(std::move(callbacks)) {}

Tracker::~Tracker() = default;

void Tracker::Reset(const std::string& why) {
  bool was = healthy_;
  healthy_ = false;
  nodes_.clear();
  tracked_.reset();
  ++resets_;
  if (cb_.reset) cb_.reset();
  if (was || why != last_error_) {
    // Logged when it changes, not on every retry.
    std::fprintf(stderr, "rowcache: near cache off until invalidation tracking is back: %s\n", why.c_str());
  }
  last_error_ = why;
  next_attempt_ = std::chrono::steady_clock::now() + backoff_;
  backoff_ = std::min(backoff_ * 2, std::chrono::milliseconds(2000));
}

Status Tracker::Establish(Deadline deadline) {
  auto topo = client_->LearnTopology();
  if (!topo.ok()) return topo.status();
  std::vector<std::unique_ptr<Node>> nodes;
  for (const NodeAddress& addr : (*topo)->nodes) {
    auto n = std::make_unique<Node>();
    n->addr = addr;
    auto sub = client_->Dial(addr, deadline);
    if (!sub.ok()) return sub.status();
    auto ctl = client_->Dial(addr, deadline);
    if (!ctl.ok()) return ctl.status();
    n->sub = std::move(sub.value());
    n->ctl = std::move(ctl.value());
    std::string wire;
    AppendCommand(wire, {"CLIENT", "ID"});
    Status s = n->sub->Send(wire, deadline);
    if (!s.ok()) return s;
    auto id = n->sub->Read(deadline);
    if (!id.ok()) return id.status();
    if ((*id)->type != REDIS_REPLY_INTEGER) return Status::Unavailable("CLIENT ID: unexpected reply");
    wire.clear();
    AppendCommand(wire, {"SUBSCRIBE", "__redis__:invalidate"});
    s = n->sub->Send(wire, deadline);
    if (!s.ok()) return s;
    auto subscribed = n->sub->Read(deadline);
    if (!subscribed.ok()) return subscribed.status();
    if ((*subscribed)->type != REDIS_REPLY_ARRAY)
      return Status::Unavailable("SUBSCRIBE: " + std::string(ReplyError(subscribed->get())));
    wire.clear();
    AppendCommand(wire, {"CLIENT", "TRACKING", "ON", "REDIRECT", std::to_string((*id)->integer), "BCAST",
                         "PREFIX", prefix_});
    s = n->ctl->Send(wire, deadline);
    if (!s.ok()) return s;
    auto on = n->ctl->Read(deadline);
    if (!on.ok()) return on.status();
    if (!ReplyError(on->get()).empty()) {
      return Status::Unavailable("CLIENT TRACKING: " + std::string(ReplyError(on->get())));
    }
    n->coherent_as_of = SteadyNanos();
    nodes.push_back(std::move(n));
  }
  nodes_ = std::move(nodes);
  tracked_ = *topo;
  return Status::OK();
}

TrackingMessage ParseTrackingMessage(const redisReply* r) {
  using Kind = TrackingMessage::Kind;
  TrackingMessage m;
  auto str = [](const redisReply* e) { return std::string_view(e->str, e->len); };
  if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 2 || !r->element[0] ||
      r->element[0]->type != REDIS_REPLY_STRING) {
    return m;
  }
  std::string_view kind = str(r->element[0]);
  if (kind == "pong") {
    if (r->elements == 2) m.kind = Kind::kPong;
    return m;
  }
  if (kind != "message") {
    if (kind == "subscribe" || kind == "unsubscribe") m.kind = Kind::kOther;
    return m;
  }
  if (r->elements != 3 || !r->element[1] || r->element[1]->type != REDIS_REPLY_STRING ||
      str(r->element[1]) != "__redis__:invalidate" || !r->element[2]) {
    return m;
  }
  const redisReply* keys = r->element[2];
  if (keys->type == REDIS_REPLY_NIL) {
    m.kind = Kind::kFlush;
    return m;
  }
  if (keys->type != REDIS_REPLY_ARRAY) return m;  // e.g. a PUBLISHed string
  m.keys.reserve(keys->elements);
  for (size_t i = 0; i < keys->elements; ++i) {
    const redisReply* k = keys->element[i];
    if (!k || k->type != REDIS_REPLY_STRING) {
      m.keys.clear();
      return m;
    }
    m.keys.push_back(str(k));
  }
  m.kind = Kind::kInvalidate;
  return m;
}

void Tracker::CountMalformed(const Node& n, const char* what) {
  ++malformed_;
  if (cb_.malformed) cb_.malformed();
  auto now = std::chrono::steady_clock::now();
  if (now < next_malformed_log_) return;
  std::fprintf(
      stderr,
      "rowcache: ignored %llu malformed message(s) on the invalidation channel from %s (latest: %s); "
      "the near cache keeps serving\n",
      static_cast<unsigned long long>(malformed_ - malformed_logged_), n.addr.Id().c_str(), what);
  malformed_logged_ = malformed_;
  next_malformed_log_ = now + std::chrono::minutes(1);
}

// One reply from a subscriber. A malformed one is ignored: resetting (which
// flushes the near cache) would let anyone who may PUBLISH keep the near
// cache empty. Ignoring cannot make it serve stale entries: Redis's own
// invalidations are never malformed, and coherence is only ever advanced by
// the answers to our PINGs.
void Tracker::Handle(Node& n, const redisReply* r) {
  TrackingMessage m = ParseTrackingMessage(r);
  switch (m.kind) {
    case TrackingMessage::Kind::kPong:  // everything sent before our PING has been read
      if (n.pings.empty()) return CountMalformed(n, "a PONG for no PING");
      n.coherent_as_of = n.pings.front();
      n.pings.pop_front();
      return;
    case TrackingMessage::Kind::kFlush:  // FLUSHALL / FLUSHDB: everything changed
      ++invalidations_;
      if (cb_.reset) cb_.reset();
      if (cb_.ready) cb_.ready();
      return;
    case TrackingMessage::Kind::kInvalidate:
      for (std::string_view k : m.keys) {
        ++invalidations_;
        if (cb_.invalidate) cb_.invalidate(k);
      }
      return;
    case TrackingMessage::Kind::kOther:
      return;
    case TrackingMessage::Kind::kMalformed:
      return CountMalformed(n, "not an invalidation Redis sends");
  }
}

bool Tracker::Poll(std::chrono::milliseconds wait) {
  auto now = std::chrono::steady_clock::now();
  if (healthy_) {
    // The masters changed (failover, resharding): set up again.
    auto topo = client_->topology();
    if (topo && topo != tracked_ && (topo->nodes != tracked_->nodes)) Reset("the cluster's masters changed");
  }
  if (!healthy_) {
    if (now < next_attempt_) return false;
    Deadline deadline = now + client_->options().timeout * 4;
    Status s = Establish(deadline);
    if (!s.ok()) {
      Reset(s.message());
      return false;
    }
    healthy_ = true;
    backoff_ = std::chrono::milliseconds(50);
    last_error_.clear();
    // Whatever the owner cached before this point may have missed
    // invalidations: it flushes on reset, and starts again from here.
    if (cb_.reset) cb_.reset();
    if (cb_.ready) cb_.ready();
  }
  std::vector<pollfd> fds;
  bool buffered = false;
  for (auto& n : nodes_) {
    fds.push_back(pollfd{n->sub->fd(), POLLIN, 0});
    fds.push_back(pollfd{n->ctl->fd(), POLLIN, 0});
    buffered = buffered || n->sub->Buffered();
  }
  int rc = ::poll(fds.data(), fds.size(), buffered ? 0 : static_cast<int>(wait.count()));
  if (rc < 0) return healthy_;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    Node& n = *nodes_[i];
    if (fds[2 * i + 1].revents != 0) {  // the control connection has nothing to say: it closed
      Reset("tracking connection to " + n.addr.Id() + " closed");
      return false;
    }
    bool readable = fds[2 * i].revents != 0 || n.sub->Buffered();
    // Everything the socket holds, not one read's worth: after a Lambda
    // freeze a backlog must be taken in whole before answering.
    while (readable) {
      auto r = n.sub->Read(std::chrono::steady_clock::now() + client_->options().timeout);
      for (;;) {
        if (!r.ok()) {
          Reset("invalidation channel from " + n.addr.Id() + ": " + r.status().message());
          return false;
        }
        if (!*r) break;
        Handle(n, r->get());
        r = n.sub->TryRead();
      }
      pollfd p{n.sub->fd(), POLLIN, 0};
      readable = n.sub->Buffered() || ::poll(&p, 1, 0) > 0;
    }
  }
  // Liveness: a PING per channel every ping_interval; its answer comes
  // behind every message sent before it.
  // After reading, so that answers that arrived while the process was frozen
  // (Lambda) count before the deadline is judged.
  int64_t now_ns = SteadyNanos();
  std::string ping;
  AppendCommand(ping, {"PING"});
  for (auto& n : nodes_) {
    if (!n->pings.empty() && now_ns - n->pings.front() > std::chrono::nanoseconds(dead_after).count()) {
      Reset("no answer to PING from " + n->addr.Id() + " within " + std::to_string(dead_after.count()) +
            " ms");
      return false;
    }
    if (now_ns - n->last_ping >= std::chrono::nanoseconds(ping_interval).count()) {
      Status s = n->sub->Send(ping, std::chrono::steady_clock::now() + client_->options().timeout);
      if (!s.ok()) {
        Reset("invalidation channel to " + n->addr.Id() + ": " + s.message());
        return false;
      }
      n->pings.push_back(now_ns);
      n->last_ping = now_ns;
    }
  }
  if (cb_.coherent_as_of && !nodes_.empty()) {
    int64_t t = nodes_[0]->coherent_as_of;
    for (auto& n : nodes_) t = std::min(t, n->coherent_as_of);
    cb_.coherent_as_of(t);
  }
  return healthy_;
}

}  // namespace rowcache::redis
