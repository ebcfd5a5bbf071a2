#include "rowcache/row_key.h"

#include <boost/json.hpp>

#include "rowcache/row.h"  // AppendJsonString

namespace rowcache {

namespace json = boost::json;

KeyCodec::KeyCodec(const RowCodec& codec) : codec_(&codec), key_(codec.schema().key) {}

Result<KeyValues> KeyCodec::FromJson(const json::value& v) const {
  const TableSchema& t = codec_->schema();
  KeyValues out(key_.size());
  auto one = [&](size_t k, const json::value& x) -> Status {
    std::optional<std::string> text;
    const ColumnCodec& cc = codec_->column(key_[k]);
    if (x.is_null()) return Status::InvalidArgument("null for key column " + cc.column().name);
    Status s = cc.FromJson(x, text);
    if (!s.ok()) {
      return key_.size() == 1 ? s : Status::InvalidArgument(cc.column().name + ": " + s.message());
    }
    out[k] = std::move(*text);
    return Status::OK();
  };
  if (key_.size() == 1 && !v.is_object() && !v.is_array()) {
    Status s = one(0, v);
    if (!s.ok()) return s;
    return out;
  }
  std::string names;
  for (size_t k : key_) names += (names.empty() ? "" : ", ") + t.columns[k].name;
  if (v.is_array()) {
    const json::array& a = v.get_array();
    if (a.size() != key_.size()) {
      return Status::InvalidArgument("a key of " + std::to_string(a.size()) + " values; the key is (" +
                                     names + ")");
    }
    for (size_t k = 0; k < key_.size(); ++k) {
      Status s = one(k, a[k]);
      if (!s.ok()) return s;
    }
    return out;
  }
  if (v.is_object()) {
    const json::object& o = v.get_object();
    for (const auto& kv : o) {
      size_t col = t.ColumnIndex(std::string_view(kv.key().data(), kv.key().size()));
      bool is_key = false;
      for (size_t k : key_) is_key |= k == col;
      if (!is_key) {
        return Status::InvalidArgument("\"" + std::string(kv.key().substr(0, 64)) +
                                       "\" is not a key column; the key is (" + names + ")");
      }
    }
    for (size_t k = 0; k < key_.size(); ++k) {
      const json::value* x = o.if_contains(t.columns[key_[k]].name);
      if (!x)
        return Status::InvalidArgument("key column " + t.columns[key_[k]].name + " missing; the key is (" +
                                       names + ")");
      Status s = one(k, *x);
      if (!s.ok()) return s;
    }
    return out;
  }
  return Status::InvalidArgument("not a key: the key is (" + names + "), given as an object or an array");
}

KeyValues KeyCodec::Of(const RowValues& row) const {
  KeyValues out;
  out.reserve(key_.size());
  for (size_t k : key_) out.push_back(k < row.size() && row[k] ? *row[k] : std::string());
  return out;
}

void KeyCodec::AppendEncoding(std::string& out, std::span<const std::string> key) const {
  for (size_t i = 0; i < key.size(); ++i) {
    if (i) out.push_back(',');
    const std::string& v = key[i];
    size_t run = 0;
    for (size_t j = 0; j < v.size(); ++j) {
      const char* esc = nullptr;
      switch (v[j]) {
        case '%':
          esc = "%25";
          break;
        case '{':
          esc = "%7B";
          break;
        case '}':
          esc = "%7D";
          break;
        case ',':
          esc = "%2C";
          break;
        default:
          continue;
      }
      out.append(v, run, j - run);
      out.append(esc);
      run = j + 1;
    }
    out.append(v, run, std::string::npos);
  }
}

std::string KeyCodec::Encode(std::span<const std::string> key) const {
  std::string s;
  AppendEncoding(s, key);
  return s;
}

std::string KeyCodec::EntryKey(std::string_view prefix, std::span<const std::string> key) const {
  std::string s;
  s.reserve(prefix.size() + 24);
  s.append(prefix);
  s.push_back('{');
  AppendEncoding(s, key);
  s.push_back('}');
  return s;
}

void KeyCodec::AppendKeyObject(std::string& out, std::span<const std::string> key) const {
  const TableSchema& t = codec_->schema();
  out.push_back('{');
  for (size_t k = 0; k < key_.size(); ++k) {
    if (k) out.append(", ");
    AppendJsonString(out, t.columns[key_[k]].name);
    out.append(": ");
    codec_->column(key_[k]).AppendJson(out, key[k]);
  }
  out.push_back('}');
}

void KeyCodec::AppendKeyScalar(std::string& out, std::span<const std::string> key) const {
  codec_->column(key_[0]).AppendJson(out, key[0]);
}

std::string DefaultKeyPrefix(std::string_view table) { return "rowcache:" + std::string(table) + ":"; }

}  // namespace rowcache
