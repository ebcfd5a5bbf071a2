// Request parsing and validation: the only place untrusted event JSON is read.
#include <boost/json.hpp>
#include <charconv>
#include <cmath>
#include <random>

#include "core/request_internal.h"
#include "rowcache/service.h"

namespace rowcache {

namespace json = boost::json;

namespace {

// The longest prefix of valid UTF-8 s of at most max bytes that does not
// cut a character (s comes from the JSON parser, so it is valid UTF-8).
std::string_view Utf8Prefix(std::string_view s, size_t max) {
  if (s.size() <= max) return s;
  size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n);
}

std::string Quote(std::string_view s) {
  std::string out;
  // Keep messages short and printable: the offending value, truncated.
  if (s.size() > 40) {
    AppendJsonString(out, std::string(Utf8Prefix(s, 40)) + "...");
  } else {
    AppendJsonString(out, s);
  }
  return out;
}

const char* TypeName(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      return "null";
    case json::kind::bool_:
      return "a boolean";
    case json::kind::int64:
    case json::kind::uint64:
      return "an integer";
    case json::kind::double_:
      return "a number";
    case json::kind::string:
      return "a string";
    case json::kind::array:
      return "a list";
    case json::kind::object:
      return "an object";
  }
  return "a value";
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

// A decimal integer in text: optional '-', digits, nothing else.
std::optional<int64_t> ParseDecimal(std::string_view s) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// An integer from a JSON integer, an integral number (1.0) or a decimal string.
// Sets *what to a description of the value when it is not one.
std::optional<int64_t> IntegerOf(const json::value& v, std::string* what) {
  switch (v.kind()) {
    case json::kind::int64:
      return v.get_int64();
    case json::kind::uint64:
      if (v.get_uint64() <= static_cast<uint64_t>(INT64_MAX)) return static_cast<int64_t>(v.get_uint64());
      *what = std::to_string(v.get_uint64());
      return std::nullopt;
    case json::kind::double_: {
      double d = v.get_double();
      if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.0e15) return static_cast<int64_t>(d);
      *what = json::serialize(v);
      return std::nullopt;
    }
    case json::kind::string: {
      std::string_view s(v.get_string().data(), v.get_string().size());
      if (auto n = ParseDecimal(s)) return n;
      *what = Quote(s);
      return std::nullopt;
    }
    default:
      *what = TypeName(v);
      return std::nullopt;
  }
}

constexpr const char* kRowFields[] = {"hero", "power", "name", "xp", "color"};

// Validates one field value; sets *text for the string fields, *number for xp.
Status ParseField(std::string_view field, const json::value& v, const std::string& path, std::string* text,
                  int64_t* number) {
  if (field == "xp") {
    std::string what;
    auto n = IntegerOf(v, &what);
    if (!n) return Status::InvalidArgument(path + ": expected an integer, got " + what);
    if (*n < kMinXp || *n > kMaxXp) {
      return Status::InvalidArgument(path + ": " + std::to_string(*n) + " is out of range (" +
                                     std::to_string(kMinXp) + " to " + std::to_string(kMaxXp) + ")");
    }
    *number = *n;
    return Status::OK();
  }
  if (!v.is_string()) return Status::InvalidArgument(path + ": expected a string, got " + TypeName(v));
  std::string_view s(v.get_string().data(), v.get_string().size());
  int64_t chars = Utf8Length(s);
  if (chars < 0) return Status::InvalidArgument(path + ": not valid UTF-8");
  if (chars > kMaxFieldChars) {
    return Status::InvalidArgument(path + ": " + std::to_string(chars) + " characters, more than " +
                                   std::to_string(kMaxFieldChars));
  }
  text->assign(s);
  return Status::OK();
}

Status ParseId(const json::value& v, const std::string& where, int64_t* id) {
  std::string what;
  auto n = IntegerOf(v, &what);
  if (!n) return Status::InvalidArgument(where + ": expected an integer id, got " + what);
  if (*n < 1 || *n > kMaxId) {
    return Status::InvalidArgument(where + ": id " + std::to_string(*n) + " is out of range (1 to " +
                                   std::to_string(kMaxId) + ")");
  }
  *id = *n;
  return Status::OK();
}

// A write row (all five fields, no id) or, with update set, an update (an id
// and at least one of the five fields).
Status ParseRowObject(const json::value& v, size_t index, bool update, Row* row, RowUpdate* upd) {
  std::string where = "SQLS[" + std::to_string(index) + "]";
  if (!v.is_object()) {
    return Status::InvalidArgument(where +
                                   (update ? ": expected an object with id and the fields to change; got "
                                           : ": expected an object with hero, power, name, xp, color; got ") +
                                   TypeName(v));
  }
  const json::object& o = v.get_object();
  for (const auto& kv : o) {
    std::string_view k(kv.key().data(), kv.key().size());
    if (k == "id") {
      if (!update) {
        return Status::InvalidArgument(where +
                                       ".id: ids are assigned by the database; leave id out of writes");
      }
      continue;
    }
    bool known = false;
    for (const char* f : kRowFields) known = known || k == f;
    if (!known) {
      return Status::InvalidArgument(where + "." + std::string(Utf8Prefix(k, 40)) +
                                     ": unknown field (expected " + (update ? "id, " : "") +
                                     "hero, power, name, xp, color)");
    }
  }
  if (update) {
    const json::value* idv = o.if_contains("id");
    if (!idv) return Status::InvalidArgument(where + ".id: missing (an update names the row it changes)");
    Status s = ParseId(*idv, where + ".id", &upd->id);
    if (!s.ok()) return s;
  }
  int present = 0;
  for (const char* f : kRowFields) {
    const json::value* fv = o.if_contains(f);
    std::string path = where + "." + f;
    if (!fv) {
      if (update) continue;
      return Status::InvalidArgument(path + ": missing");
    }
    ++present;
    std::string text;
    int64_t number = 0;
    Status s = ParseField(f, *fv, path, &text, &number);
    if (!s.ok()) return s;
    std::string_view fs(f);
    if (update) {
      if (fs == "xp")
        upd->xp = number;
      else if (fs == "hero")
        upd->hero = std::move(text);
      else if (fs == "power")
        upd->power = std::move(text);
      else if (fs == "name")
        upd->name = std::move(text);
      else
        upd->color = std::move(text);
    } else {
      if (fs == "xp")
        row->xp = number;
      else if (fs == "hero")
        row->hero = std::move(text);
      else if (fs == "power")
        row->power = std::move(text);
      else if (fs == "name")
        row->name = std::move(text);
      else
        row->color = std::move(text);
    }
  }
  if (update && present == 0) {
    return Status::InvalidArgument(where +
                                   ": nothing to change (give at least one of hero, power, name, xp, color)");
  }
  return Status::OK();
}

}  // namespace

Result<Request> ParseEvent(std::string_view event_json, const ServiceOptions& opts, RequestKind* kind) {
  *kind = RequestKind::kInvalid;
  json::parse_options po;
  po.max_depth = 16;
  boost::system::error_code ec;
  json::value doc = json::parse(event_json, ec, json::storage_ptr(), po);
  if (ec) return Status::InvalidArgument("request body: not valid JSON (" + ec.message() + ")");
  if (!doc.is_object()) {
    return Status::InvalidArgument(std::string("request body: expected a JSON object, got ") + TypeName(doc));
  }
  const json::object& o = doc.get_object();
  Request req;

  const json::value* r = o.if_contains("REQUEST");
  if (!r) return Status::InvalidArgument("REQUEST: missing (expected \"read\" or \"write\")");
  if (!r->is_string()) {
    return Status::InvalidArgument(std::string("REQUEST: expected \"read\" or \"write\", got ") +
                                   TypeName(*r));
  }
  std::string_view rs(r->get_string().data(), r->get_string().size());
  if (EqualsIgnoreCase(rs, "read")) {
    req.kind = Request::Kind::kRead;
    *kind = RequestKind::kRead;
  } else if (EqualsIgnoreCase(rs, "write")) {
    req.kind = Request::Kind::kWrite;
    *kind = RequestKind::kWrite;
  } else if (EqualsIgnoreCase(rs, "update")) {
    req.kind = Request::Kind::kUpdate;
    *kind = RequestKind::kUpdate;
  } else if (EqualsIgnoreCase(rs, "delete")) {
    req.kind = Request::Kind::kDelete;
    *kind = RequestKind::kDelete;
  } else {
    return Status::InvalidArgument("REQUEST: unknown value " + Quote(rs) +
                                   " (expected \"read\", \"write\", \"update\" or \"delete\")");
  }

  req.use_cache = opts.default_use_cache;
  if (const json::value* u = o.if_contains("USE_CACHE"); u && !u->is_null()) {
    if (u->is_bool()) {
      req.use_cache = u->get_bool();
    } else if (u->is_string() && EqualsIgnoreCase(std::string_view(u->get_string()), "true")) {
      req.use_cache = true;
    } else if (u->is_string() && EqualsIgnoreCase(std::string_view(u->get_string()), "false")) {
      req.use_cache = false;
    } else {
      std::string got = u->is_string() ? Quote(std::string_view(u->get_string())) : TypeName(*u);
      return Status::InvalidArgument("USE_CACHE: expected true, false, \"True\" or \"False\", got " + got);
    }
  }

  const json::value* sqls = o.if_contains("SQLS");
  if (!sqls) return Status::InvalidArgument("SQLS: missing (expected a list)");
  if (!sqls->is_array()) {
    return Status::InvalidArgument(std::string("SQLS: expected a list, got ") + TypeName(*sqls));
  }
  const json::array& items = sqls->get_array();
  size_t limit = req.kind == Request::Kind::kRead ? opts.max_read_batch : opts.max_batch;
  if (items.size() > limit) {
    return Status::TooLarge("SQLS: " + std::to_string(items.size()) + " items, more than the limit of " +
                            std::to_string(limit) + (req.kind == Request::Kind::kRead ? " for a read" : ""));
  }
  if (req.kind == Request::Kind::kRead || req.kind == Request::Kind::kDelete) {
    req.ids.resize(items.size());
    for (size_t i = 0; i < items.size(); ++i) {
      Status s = ParseId(items[i], "SQLS[" + std::to_string(i) + "]", &req.ids[i]);
      if (!s.ok()) return s;
    }
  } else if (req.kind == Request::Kind::kWrite) {
    req.rows.resize(items.size());
    for (size_t i = 0; i < items.size(); ++i) {
      Status s = ParseRowObject(items[i], i, /*update=*/false, &req.rows[i], nullptr);
      if (!s.ok()) return s;
    }
  } else {
    req.updates.resize(items.size());
    for (size_t i = 0; i < items.size(); ++i) {
      Status s = ParseRowObject(items[i], i, /*update=*/true, nullptr, &req.updates[i]);
      if (!s.ok()) return s;
    }
  }
  return req;
}

Result<Request> ParseRequest(std::string_view event_json, const ServiceOptions& opts) {
  RequestKind kind;
  return ParseEvent(event_json, opts, &kind);
}

std::string NewRequestId() {
  static constexpr char kHex[] = "0123456789abcdef";
  thread_local std::mt19937_64 gen{std::random_device{}()};
  uint64_t v = gen();
  std::string id(16, '0');
  for (int i = 0; i < 16; ++i) id[static_cast<size_t>(i)] = kHex[(v >> (4 * i)) & 0xF];
  return id;
}

namespace {

// What a 5xx answer says instead of the backend's message.
const char* GenericMessage(const Status& s) {
  // Every Unavailable the core answers comes from the database: a cache
  // that fails is bypassed, never an error.
  return s.IsUnavailable() ? "the database is unavailable" : "internal error";
}

}  // namespace

Response ErrorResponse(const Status& s, std::string_view request_id) {
  Response r;
  r.status = HttpStatusFor(s);
  r.body = "{\"statusCode\": " + std::to_string(r.status) + ", \"body\": {\"error\": ";
  if (r.status < 500) {
    AppendJsonString(r.body, s.message());
  } else {
    r.request_id = request_id.empty() ? NewRequestId() : std::string(request_id);
    r.error_detail = s.message().empty() ? CodeName(s.code()) : s.message();
    AppendJsonString(r.body, GenericMessage(s));
    r.body += ", \"request_id\": ";
    AppendJsonString(r.body, r.request_id);
  }
  r.body += "}}";
  return r;
}

std::string ErrorLogLine(const Response& r) {
  if (r.error_detail.empty()) return {};
  std::string line = "rowcache: request " + r.request_id + ": " + std::to_string(r.status) + ": ";
  std::string_view d = r.error_detail;
  if (d.size() > 2000) d = d.substr(0, 2000);
  for (char ch : d) line.push_back(ch == '\n' || ch == '\r' ? ' ' : ch);
  if (r.error_detail.size() > 2000) line += "...";
  line.push_back('\n');
  return line;
}

}  // namespace rowcache
