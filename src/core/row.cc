#include "rowcache/row.h"

#include <boost/json.hpp>
#include <charconv>

namespace rowcache {

int64_t Utf8Length(std::string_view s) {
  int64_t n = 0;
  size_t i = 0;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  while (i < s.size()) {
    unsigned char c = p[i];
    size_t len;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      ++n;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return -1;
    }
    if (i + len > s.size()) return -1;
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return -1;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return -1;
    }
    i += len;
    ++n;
  }
  return n;
}

void AppendJsonString(std::string& out, std::string_view s) {
  static const char kHex[] = "0123456789abcdef";
  out.push_back('"');
  size_t run = 0;  // start of the pending run of bytes that need no escaping
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        out += "\\u00";
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 0xF]);
    }
  }
  out.append(s.data() + run, s.size() - run);
  out.push_back('"');
}

static void AppendInt(std::string& out, int64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}

void AppendRowJson(std::string& out, const Row& r) {
  out += "{\"id\": ";
  AppendInt(out, r.id);
  out += ", \"hero\": ";
  AppendJsonString(out, r.hero);
  out += ", \"power\": ";
  AppendJsonString(out, r.power);
  out += ", \"name\": ";
  AppendJsonString(out, r.name);
  out += ", \"xp\": ";
  AppendInt(out, r.xp);
  out += ", \"color\": ";
  AppendJsonString(out, r.color);
  out += "}";
}

std::string RowToJson(const Row& r) {
  std::string s;
  s.reserve(96);
  AppendRowJson(s, r);
  return s;
}

std::optional<Row> RowFromJson(std::string_view json) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(json, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const auto& o = v.get_object();
  if (o.size() != 6) return std::nullopt;
  Row r;
  auto int_field = [&](const char* k, int64_t lo, int64_t hi, int64_t& out) {
    auto* f = o.if_contains(k);
    if (!f || !f->is_int64()) return false;
    out = f->get_int64();
    return out >= lo && out <= hi;
  };
  auto str_field = [&](const char* k, std::string& out) {
    auto* f = o.if_contains(k);
    if (!f || !f->is_string()) return false;
    out.assign(f->get_string().data(), f->get_string().size());
    return true;
  };
  if (!int_field("id", 1, kMaxId, r.id) || !int_field("xp", kMinXp, kMaxXp, r.xp) ||
      !str_field("hero", r.hero) || !str_field("power", r.power) || !str_field("name", r.name) ||
      !str_field("color", r.color)) {
    return std::nullopt;
  }
  return r;
}

}  // namespace rowcache
