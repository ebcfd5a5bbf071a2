#include "rowcache/row_codec.h"

#include <boost/json.hpp>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "rowcache/row.h"  // AppendJsonString, Utf8Length

namespace rowcache {
namespace {

namespace json = boost::json;

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

std::string Describe(const json::value& v) {
  std::string s = json::serialize(v);
  if (s.size() > 40) {
    size_t cut = 40;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
    s = s.substr(0, cut) + "...";
  }
  return s;
}

// ---- integers ---------------------------------------------------------------

struct IntRange {
  bool is_unsigned;
  int64_t lo;
  uint64_t hi;
};

IntRange RangeOf(const Column& c) {
  if (c.kind == ColumnKind::kYear) return {false, 0, 2155};
  int bits = c.int_bytes * 8;
  if (c.is_unsigned) return {true, 0, bits == 64 ? UINT64_MAX : (uint64_t{1} << bits) - 1};
  int64_t hi = bits == 64 ? INT64_MAX : (int64_t{1} << (bits - 1)) - 1;
  // An AUTO_INCREMENT column's values, as rowcache reads and writes them, are
  // the ones the database assigns: from 1.
  if (c.auto_increment) return {false, 1, static_cast<uint64_t>(hi)};
  return {false, -hi - 1, static_cast<uint64_t>(hi)};
}

std::string RangeText(const IntRange& r) {
  return "from " + std::to_string(r.lo) + " to " + std::to_string(r.hi);
}

Status FromInteger(const Column& c, const json::value& v, std::string& out) {
  IntRange r = RangeOf(c);
  bool neg = false;
  uint64_t mag = 0;
  if (v.is_int64()) {
    int64_t x = v.get_int64();
    neg = x < 0;
    mag = neg ? 0 - static_cast<uint64_t>(x) : static_cast<uint64_t>(x);
  } else if (v.is_uint64()) {
    mag = v.get_uint64();
  } else if (v.is_double()) {
    double d = v.get_double();
    if (!std::isfinite(d) || d != std::floor(d) || std::fabs(d) > 9007199254740992.0) {
      return Status::InvalidArgument("not an integer: " + Describe(v));
    }
    neg = d < 0;
    mag = static_cast<uint64_t>(std::fabs(d));
  } else if (v.is_string()) {
    std::string_view s = v.get_string();
    if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
      neg = s[0] == '-';
      s.remove_prefix(1);
    }
    if (!AllDigits(s) || s.size() > 20) return Status::InvalidArgument("not an integer: " + Describe(v));
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), mag);
    if (ec != std::errc())
      return Status::InvalidArgument("out of range (" + RangeText(r) + "): " + Describe(v));
  } else {
    return Status::InvalidArgument("not an integer: " + Describe(v));
  }
  if (mag == 0) neg = false;
  bool ok = neg ? r.lo < 0 && mag <= static_cast<uint64_t>(0) - static_cast<uint64_t>(r.lo)
                : mag <= r.hi && (r.lo <= 0 || mag >= static_cast<uint64_t>(r.lo));
  if (c.kind == ColumnKind::kYear && ok && mag != 0 && mag < 1901) ok = false;
  if (!ok) {
    return Status::InvalidArgument(c.kind == ColumnKind::kYear
                                       ? "not a YEAR (1901 to 2155, or 0): " + Describe(v)
                                       : "out of range (" + RangeText(r) + "): " + Describe(v));
  }
  out.clear();
  if (neg) out.push_back('-');
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, mag);
  out.append(buf, end);
  return Status::OK();
}

void AppendRaw(const Column&, std::string& out, std::string_view v) { out.append(v); }

// YEAR 0 reads back as "0000" from the text protocol: a JSON number has no leading zeros.
void AppendYear(const Column&, std::string& out, std::string_view v) {
  while (v.size() > 1 && v[0] == '0') v.remove_prefix(1);
  out.append(v);
}

// ---- DECIMAL -----------------------------------------------------------------

Status FromDecimal(const Column& c, const json::value& v, std::string& out) {
  std::string text;
  if (v.is_string()) {
    text = std::string(v.get_string());
  } else if (v.is_int64() || v.is_uint64()) {
    text = json::serialize(v);
  } else if (v.is_double()) {
    // The shortest text that reads back as the same double: the number as the
    // client wrote it, for up to 15 significant digits (send more as a string).
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v.get_double(), std::chars_format::fixed);
    if (ec != std::errc()) return Status::InvalidArgument("not a decimal number: " + Describe(v));
    text.assign(buf, end);
  } else {
    return Status::InvalidArgument("not a decimal number: " + Describe(v));
  }
  std::string_view s = text;
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  size_t dot = s.find('.');
  std::string_view ip = s.substr(0, dot);
  std::string_view fp = dot == std::string_view::npos ? std::string_view() : s.substr(dot + 1);
  if ((ip.empty() && fp.empty()) || (!ip.empty() && !AllDigits(ip)) || (!fp.empty() && !AllDigits(fp)) ||
      (dot != std::string_view::npos && fp.empty() && ip.empty())) {
    return Status::InvalidArgument("not a decimal number: " + Describe(v));
  }
  while (ip.size() > 1 && ip[0] == '0') ip.remove_prefix(1);
  if (ip.empty()) ip = "0";
  while (!fp.empty() && fp.back() == '0' && fp.size() > static_cast<size_t>(c.scale)) fp.remove_suffix(1);
  int int_digits = c.precision - c.scale;
  if (static_cast<int>(fp.size()) > c.scale) {
    return Status::InvalidArgument("more than " + std::to_string(c.scale) + " digits after the point for " +
                                   c.sql_type + ": " + Describe(v));
  }
  if (!(ip == "0") && static_cast<int>(ip.size()) > int_digits) {
    return Status::InvalidArgument("more than " + std::to_string(int_digits) +
                                   " digits before the point for " + c.sql_type + ": " + Describe(v));
  }
  bool zero = ip == "0" && fp.find_first_not_of('0') == std::string_view::npos;
  out.clear();
  if (neg && !zero) out.push_back('-');
  out.append(ip);
  if (c.scale > 0) {
    out.push_back('.');
    out.append(fp);
    out.append(static_cast<size_t>(c.scale) - fp.size(), '0');
  }
  return Status::OK();
}

void AppendQuoted(const Column&, std::string& out, std::string_view v) { AppendJsonString(out, v); }

// ---- FLOAT / DOUBLE ------------------------------------------------------------

Status FromFloating(const Column& c, const json::value& v, std::string& out) {
  double d;
  if (v.is_double()) {
    d = v.get_double();
  } else if (v.is_int64()) {
    d = static_cast<double>(v.get_int64());
  } else if (v.is_uint64()) {
    d = static_cast<double>(v.get_uint64());
  } else {
    return Status::InvalidArgument("not a number: " + Describe(v));
  }
  char buf[64];
  std::to_chars_result r;
  if (c.kind == ColumnKind::kFloat) {
    // Past FLT_MAX by less than half a unit in the last place still rounds to it.
    if (!std::isfinite(d) || std::fabs(d) >= 3.4028235677973366e38) {
      return Status::InvalidArgument("not a finite FLOAT: " + Describe(v));
    }
    r = std::to_chars(buf, buf + sizeof buf, static_cast<float>(d));
  } else {
    if (!std::isfinite(d)) return Status::InvalidArgument("not a finite DOUBLE: " + Describe(v));
    r = std::to_chars(buf, buf + sizeof buf, d);
  }
  out.assign(buf, r.ptr);
  if (out == "-0") out = "0";
  return Status::OK();
}

// The database's text for a float may not be the shortest (MySQL prints
// FLOAT with 6 significant digits in some versions): read it and write the
// shortest text that reads back as the same float / double.
void AppendFloating(const Column& c, std::string& out, std::string_view v) {
  char buf[64];
  std::to_chars_result r{};
  if (c.kind == ColumnKind::kFloat) {
    float f = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), f);
    if (ec != std::errc() || !std::isfinite(f)) {
      out.append("null");
      return;
    }
    r = std::to_chars(buf, buf + sizeof buf, f);
  } else {
    double d = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), d);
    if (ec != std::errc() || !std::isfinite(d)) {
      out.append("null");
      return;
    }
    r = std::to_chars(buf, buf + sizeof buf, d);
  }
  std::string_view t(buf, static_cast<size_t>(r.ptr - buf));
  if (t == "-0") t = "0";
  out.append(t);
}

// ---- strings -------------------------------------------------------------------

// Whether every code point of s (valid UTF-8) can be stored in charset.
bool FitsCharset(std::string_view charset, std::string_view s, std::string* bad) {
  uint32_t limit = 0x10FFFF;
  if (charset == "ascii") {
    limit = 0x7F;
  } else if (charset == "latin1") {
    limit = 0xFF;
  } else if (charset == "utf8mb3" || charset == "utf8") {
    limit = 0xFFFF;
  }
  if (limit == 0x10FFFF) return true;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  for (size_t i = 0; i < s.size();) {
    size_t len = p[i] < 0x80 ? 1 : (p[i] & 0xE0) == 0xC0 ? 2 : (p[i] & 0xF0) == 0xE0 ? 3 : 4;
    uint32_t cp = len == 1 ? p[i] : len == 2 ? p[i] & 0x1F : len == 3 ? p[i] & 0x0F : p[i] & 0x07;
    for (size_t k = 1; k < len && i + k < s.size(); ++k) cp = (cp << 6) | (p[i + k] & 0x3F);
    if (cp > limit) {
      *bad = std::string(s.substr(i, len));
      return false;
    }
    i += len;
  }
  return true;
}

Status FromString(const Column& c, const json::value& v, std::string& out) {
  if (!v.is_string()) return Status::InvalidArgument("not a string: " + Describe(v));
  std::string_view s = v.get_string();
  int64_t chars = Utf8Length(s);
  if (chars < 0) return Status::InvalidArgument("not valid UTF-8");
  if (c.length_in_chars ? static_cast<uint64_t>(chars) > c.length : s.size() > c.length) {
    return Status::InvalidArgument(
        std::to_string(c.length_in_chars ? static_cast<uint64_t>(chars) : s.size()) +
        (c.length_in_chars ? " characters, more than " : " bytes, more than ") + std::to_string(c.length));
  }
  std::string bad;
  if (!FitsCharset(c.charset, s, &bad)) {
    return Status::InvalidArgument("the character " + bad + " cannot be stored in a " + c.charset +
                                   " column");
  }
  out.assign(s);
  if (c.fixed_length) {
    // CHAR(n): the database keeps no trailing spaces (PAD_CHAR_TO_FULL_LENGTH off).
    while (!out.empty() && out.back() == ' ') out.pop_back();
  }
  return Status::OK();
}

// ---- binary --------------------------------------------------------------------

const char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

Status FromBinary(const Column& c, const json::value& v, std::string& out) {
  if (!v.is_string()) return Status::InvalidArgument("not a base64 string: " + Describe(v));
  auto bytes = DecodeBase64(v.get_string());
  if (!bytes) return Status::InvalidArgument("not base64 (RFC 4648, standard alphabet): " + Describe(v));
  if (bytes->size() > c.length) {
    return Status::InvalidArgument(std::to_string(bytes->size()) + " bytes, more than " +
                                   std::to_string(c.length));
  }
  out = std::move(*bytes);
  if (c.fixed_length) out.append(c.length - out.size(), '\0');
  return Status::OK();
}

void AppendBinary(const Column&, std::string& out, std::string_view v) {
  out.push_back('"');
  AppendBase64(out, v);
  out.push_back('"');
}

// ---- temporal --------------------------------------------------------------------

bool Digits(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (size_t i = 0; i < n; ++i) {
    char ch = s[pos + i];
    if (ch < '0' || ch > '9') return false;
    out = out * 10 + (ch - '0');
  }
  return true;
}

bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }
int DaysIn(int y, int m) {
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
int64_t DaysFromCivil(int y, int m, int d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}
void CivilFromDays(int64_t z, int& y, int& m, int& d) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t yy = yoe + era * 400;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  y = static_cast<int>(yy + (m <= 2));
}

struct DateTime {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  std::string frac;  // digits
};

void AppendN(std::string& out, int v, int width) {
  char buf[16];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(static_cast<size_t>(std::max<ptrdiff_t>(0, width - (end - buf))), '0');
  out.append(buf, end);
}

// "YYYY-MM-DD", then (with_time) [T ]hh:mm:ss[.f{1,6}]; consumed: chars read.
bool ParseDateTime(std::string_view s, bool with_time, DateTime& t, size_t& consumed) {
  if (!Digits(s, 0, 4, t.y) || s.size() < 10 || s[4] != '-' || !Digits(s, 5, 2, t.mo) || s[7] != '-' ||
      !Digits(s, 8, 2, t.d)) {
    return false;
  }
  if (t.y < 1 || t.mo < 1 || t.mo > 12 || t.d < 1 || t.d > DaysIn(t.y, t.mo)) return false;
  consumed = 10;
  if (!with_time) return true;
  if (s.size() == 10) return true;  // a date alone: midnight
  if ((s[10] != 'T' && s[10] != ' ') || !Digits(s, 11, 2, t.h) || s.size() < 19 || s[13] != ':' ||
      !Digits(s, 14, 2, t.mi) || s[16] != ':' || !Digits(s, 17, 2, t.s)) {
    return false;
  }
  if (t.h > 23 || t.mi > 59 || t.s > 59) return false;
  consumed = 19;
  if (consumed < s.size() && s[consumed] == '.') {
    size_t i = consumed + 1;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    t.frac = std::string(s.substr(consumed + 1, i - consumed - 1));
    if (t.frac.empty()) return false;
    consumed = i;
  }
  return true;
}

// The fraction as exactly fsp digits; false if it has more significant ones.
bool FixFraction(std::string& frac, int fsp) {
  while (frac.size() > static_cast<size_t>(fsp) && frac.back() == '0') frac.pop_back();
  if (frac.size() > static_cast<size_t>(fsp)) return false;
  frac.append(static_cast<size_t>(fsp) - frac.size(), '0');
  return true;
}

void AppendDateTimeText(std::string& out, const DateTime& t, const std::string& frac, int fsp) {
  AppendN(out, t.y, 4);
  out.push_back('-');
  AppendN(out, t.mo, 2);
  out.push_back('-');
  AppendN(out, t.d, 2);
  out.push_back(' ');
  AppendN(out, t.h, 2);
  out.push_back(':');
  AppendN(out, t.mi, 2);
  out.push_back(':');
  AppendN(out, t.s, 2);
  if (fsp > 0) {
    out.push_back('.');
    out.append(frac);
  }
}

Status FromDate(const Column&, const json::value& v, std::string& out) {
  DateTime t;
  size_t n = 0;
  if (!v.is_string() || !ParseDateTime(v.get_string(), false, t, n) || n != v.get_string().size()) {
    return Status::InvalidArgument("not a date (YYYY-MM-DD): " + Describe(v));
  }
  out.assign(v.get_string().data(), 10);
  return Status::OK();
}

Status FromDateTime(const Column& c, const json::value& v, std::string& out) {
  const bool ts = c.kind == ColumnKind::kTimestamp;
  const char* what = ts ? "not a timestamp (YYYY-MM-DDThh:mm:ss[.fraction][Z|+hh:mm]): "
                        : "not a date and time (YYYY-MM-DDThh:mm:ss[.fraction]): ";
  DateTime t;
  size_t n = 0;
  if (!v.is_string() || !ParseDateTime(v.get_string(), true, t, n))
    return Status::InvalidArgument(what + Describe(v));
  std::string_view rest = std::string_view(v.get_string()).substr(n);
  int64_t offset_min = 0;
  if (ts && !rest.empty()) {
    int hh = 0, mm = 0;
    if (rest == "Z") {
      rest = {};
    } else if (rest.size() == 6 && (rest[0] == '+' || rest[0] == '-') && Digits(rest, 1, 2, hh) &&
               rest[3] == ':' && Digits(rest, 4, 2, mm) && hh <= 14 && mm <= 59) {
      offset_min = (rest[0] == '-' ? -1 : 1) * (hh * 60 + mm);
      rest = {};
    }
  }
  if (!rest.empty()) return Status::InvalidArgument(what + Describe(v));
  if (!FixFraction(t.frac, c.fsp)) {
    return Status::InvalidArgument("more than " + std::to_string(c.fsp) + " fraction digits for " +
                                   c.sql_type + ": " + Describe(v));
  }
  if (ts) {
    int64_t secs = DaysFromCivil(t.y, t.mo, t.d) * 86400 + t.h * 3600 + t.mi * 60 + t.s - offset_min * 60;
    // TIMESTAMP holds 1970-01-01 00:00:01 to 2038-01-19 03:14:07 UTC.
    if (secs < 1 || secs > 2147483647) {
      return Status::InvalidArgument(
          "outside TIMESTAMP's range (1970-01-01T00:00:01Z to 2038-01-19T03:14:07Z): " + Describe(v));
    }
    int64_t days = secs / 86400;
    int64_t rem = secs % 86400;
    CivilFromDays(days, t.y, t.mo, t.d);
    t.h = static_cast<int>(rem / 3600);
    t.mi = static_cast<int>(rem / 60 % 60);
    t.s = static_cast<int>(rem % 60);
  }
  out.clear();
  AppendDateTimeText(out, t, t.frac, c.fsp);
  return Status::OK();
}

// "2026-12-06 20:43:05.123" -> "2026-12-06T20:43:05.123" (+ "Z" for TIMESTAMP).
void AppendDateTime(const Column& c, std::string& out, std::string_view v) {
  out.push_back('"');
  if (v.size() > 10 && v[10] == ' ') {
    out.append(v.substr(0, 10));
    out.push_back('T');
    out.append(v.substr(11));
  } else {
    out.append(v);
  }
  if (c.kind == ColumnKind::kTimestamp) out.push_back('Z');
  out.push_back('"');
}

Status FromTime(const Column& c, const json::value& v, std::string& out) {
  const char* what = "not a time ([-]hhh:mm:ss[.fraction], -838:59:59 to 838:59:59): ";
  if (!v.is_string()) return Status::InvalidArgument(what + Describe(v));
  std::string_view s = v.get_string();
  bool neg = !s.empty() && s[0] == '-';
  if (neg) s.remove_prefix(1);
  size_t colon = s.find(':');
  int h = 0, m = 0, sec = 0;
  if (colon == std::string_view::npos || colon < 1 || colon > 3 || !Digits(s, 0, colon, h) ||
      s.size() < colon + 6 || !Digits(s, colon + 1, 2, m) || s[colon + 3] != ':' ||
      !Digits(s, colon + 4, 2, sec) || m > 59 || sec > 59) {
    return Status::InvalidArgument(what + Describe(v));
  }
  std::string frac;
  size_t n = colon + 6;
  if (n < s.size()) {
    if (s[n] != '.' || n + 1 == s.size() || !AllDigits(s.substr(n + 1)))
      return Status::InvalidArgument(what + Describe(v));
    frac = std::string(s.substr(n + 1));
  }
  if (!FixFraction(frac, c.fsp)) {
    return Status::InvalidArgument("more than " + std::to_string(c.fsp) + " fraction digits for " +
                                   c.sql_type + ": " + Describe(v));
  }
  bool nonzero_frac = frac.find_first_not_of('0') != std::string::npos;
  if (h > 838 || (h == 838 && (m > 59 || sec > 59 || nonzero_frac)))
    return Status::InvalidArgument(what + Describe(v));
  bool zero = h == 0 && m == 0 && sec == 0 && !nonzero_frac;
  out.clear();
  if (neg && !zero) out.push_back('-');
  AppendN(out, h, 2);
  out.push_back(':');
  AppendN(out, m, 2);
  out.push_back(':');
  AppendN(out, sec, 2);
  if (c.fsp > 0) {
    out.push_back('.');
    out.append(frac);
  }
  return Status::OK();
}

// ---- BIT, ENUM, SET, JSON ----------------------------------------------------------

Status FromBit(const Column& c, const json::value& v, std::string& out) {
  if (c.length == 1 && v.is_bool()) {
    out = v.get_bool() ? "1" : "0";
    return Status::OK();
  }
  uint64_t x = 0;
  if (v.is_int64() && v.get_int64() >= 0) {
    x = static_cast<uint64_t>(v.get_int64());
  } else if (v.is_uint64()) {
    x = v.get_uint64();
  } else {
    return Status::InvalidArgument(
        (c.length == 1 ? "not true, false, 0 or 1: " : "not a non-negative integer: ") + Describe(v));
  }
  if (c.length < 64 && x >> c.length) {
    return Status::InvalidArgument("more than " + std::to_string(c.length) + " bits: " + Describe(v));
  }
  out = std::to_string(x);
  return Status::OK();
}

void AppendBit(const Column& c, std::string& out, std::string_view v) {
  if (c.length == 1) {
    out.append(v == "0" ? "false" : "true");
  } else {
    out.append(v);
  }
}

Status FromEnum(const Column& c, const json::value& v, std::string& out) {
  if (v.is_string()) {
    for (const std::string& m : c.members) {
      if (m == std::string_view(v.get_string())) {
        out = m;
        return Status::OK();
      }
    }
  }
  return Status::InvalidArgument("not one of the members of " + c.sql_type + ": " + Describe(v));
}

Status FromSet(const Column& c, const json::value& v, std::string& out) {
  if (!v.is_string()) return Status::InvalidArgument("not a string of members joined by ',': " + Describe(v));
  std::string_view s = v.get_string();
  std::vector<bool> has(c.members.size());
  while (!s.empty()) {
    size_t comma = s.find(',');
    std::string_view m = s.substr(0, comma);
    size_t i = 0;
    while (i < c.members.size() && c.members[i] != m) ++i;
    if (i == c.members.size()) {
      return Status::InvalidArgument("\"" + std::string(m.substr(0, 40)) + "\" is not a member of " +
                                     c.sql_type);
    }
    has[i] = true;
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 1);
    if (s.empty()) return Status::InvalidArgument("an empty member in " + Describe(v));
  }
  out.clear();
  for (size_t i = 0; i < has.size(); ++i) {
    if (!has[i]) continue;
    if (!out.empty()) out.push_back(',');
    out.append(c.members[i]);
  }
  return Status::OK();
}

Status FromJsonColumn(const Column&, const json::value& v, std::string& out) {
  out = json::serialize(v);
  return Status::OK();
}

// ---- matching what AppendJson writes (cache entries read back) -----------------

size_t MatchDigits(std::string_view s, size_t i) {
  size_t j = i;
  while (j < s.size() && s[j] >= '0' && s[j] <= '9') ++j;
  return j - i;
}

size_t MatchInteger(const Column& c, std::string_view s) {
  size_t neg = !s.empty() && s[0] == '-' ? 1 : 0;
  size_t n = MatchDigits(s, neg);
  if (n == 0 || (n > 1 && s[neg] == '0') || (neg && s[1] == '0')) return 0;
  IntRange r = RangeOf(c);
  uint64_t mag = 0;
  auto [p, ec] = std::from_chars(s.data() + neg, s.data() + neg + n, mag);
  if (ec != std::errc()) return 0;
  bool ok = neg ? r.lo < 0 && mag <= static_cast<uint64_t>(0) - static_cast<uint64_t>(r.lo)
                : mag <= r.hi && (r.lo <= 0 || mag >= static_cast<uint64_t>(r.lo));
  if (c.kind == ColumnKind::kYear && mag != 0 && mag < 1901) ok = false;
  return ok ? neg + n : 0;
}

// A JSON number (RFC 8259 grammar).
size_t MatchNumber(const Column&, std::string_view s) {
  size_t i = !s.empty() && s[0] == '-' ? 1 : 0;
  size_t n = MatchDigits(s, i);
  if (n == 0 || (n > 1 && s[i] == '0')) return 0;
  i += n;
  if (i < s.size() && s[i] == '.') {
    n = MatchDigits(s, i + 1);
    if (n == 0) return 0;
    i += 1 + n;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    n = MatchDigits(s, i);
    if (n == 0) return 0;
    i += n;
  }
  return i;
}

// A JSON string exactly as AppendJsonString writes it: raw valid UTF-8 but
// for '"', '\\' and control characters, escaped its way.
size_t MatchJsonString(std::string_view s) {
  if (s.empty() || s[0] != '"') return 0;
  size_t i = 1;
  size_t run = 1;
  auto run_ok = [&](size_t end) { return Utf8Length(s.substr(run, end - run)) >= 0; };
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"') return run_ok(i) ? i + 1 : 0;
    if (c < 0x20) return 0;
    if (c != '\\') {
      ++i;
      continue;
    }
    if (!run_ok(i) || i + 1 >= s.size()) return 0;
    char e = s[i + 1];
    if (e == '"' || e == '\\' || e == 'n' || e == 'r' || e == 't' || e == 'b' || e == 'f') {
      i += 2;
    } else if (e == 'u' && s.substr(i + 2, 2) == "00" && i + 6 <= s.size()) {
      auto hex = [](char h) { return (h >= '0' && h <= '9') || (h >= 'a' && h <= 'f'); };
      if (!hex(s[i + 4]) || !hex(s[i + 5]) || s[i + 4] > '1') return 0;
      // The control characters with a short escape are written that way.
      std::string_view code = s.substr(i + 4, 2);
      if (code == "08" || code == "09" || code == "0a" || code == "0c" || code == "0d") return 0;
      i += 6;
    } else {
      return 0;
    }
    run = i;
  }
  return 0;
}

size_t MatchString(const Column&, std::string_view s) { return MatchJsonString(s); }

size_t MatchDecimal(const Column& c, std::string_view s) {
  if (s.empty() || s[0] != '"') return 0;
  size_t i = 1 + (s.size() > 1 && s[1] == '-' ? 1 : 0);
  size_t n = MatchDigits(s, i);
  if (n == 0 || (n > 1 && s[i] == '0')) return 0;
  i += n;
  if (c.scale > 0) {
    if (i >= s.size() || s[i] != '.' || MatchDigits(s, i + 1) != static_cast<size_t>(c.scale)) return 0;
    i += 1 + static_cast<size_t>(c.scale);
  }
  return i < s.size() && s[i] == '"' ? i + 1 : 0;
}

size_t MatchBase64(const Column&, std::string_view s) {
  if (s.empty() || s[0] != '"') return 0;
  size_t i = 1;
  while (i < s.size() && s[i] != '"') {
    char ch = s[i];
    bool ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '+' ||
              ch == '/' || ch == '=';
    if (!ok) return 0;
    ++i;
  }
  return i < s.size() && (i - 1) % 4 == 0 ? i + 1 : 0;
}

size_t MatchBit(const Column& c, std::string_view s) {
  if (c.length == 1) {
    if (s.substr(0, 4) == "true") return 4;
    if (s.substr(0, 5) == "false") return 5;
    return 0;
  }
  size_t n = MatchDigits(s, 0);
  return n > 0 && (n == 1 || s[0] != '0') && n <= 20 ? n : 0;
}

// Any JSON value: parsed (JSON columns are rare, and their values nested).
size_t MatchAnyJson(const Column&, std::string_view s) {
  boost::json::stream_parser p;
  boost::system::error_code ec;
  size_t n = p.write_some(s.data(), s.size(), ec);
  if (ec) return 0;
  // write_some stops at the end of the first complete value only for arrays,
  // objects and strings; a number or literal needs to see what follows it.
  if (!p.done()) {
    p.finish(ec);
    if (ec) return 0;
  }
  return n;
}

}  // namespace

// ---- the codec ------------------------------------------------------------------------

ColumnCodec::ColumnCodec(const Column& c)
    : col_(&c), from_(nullptr), append_(&AppendRaw), match_(&MatchString) {
  switch (c.kind) {
    case ColumnKind::kInteger:
      from_ = &FromInteger;
      match_ = &MatchInteger;
      break;
    case ColumnKind::kYear:
      from_ = &FromInteger;
      append_ = &AppendYear;
      match_ = &MatchInteger;
      break;
    case ColumnKind::kDecimal:
      from_ = &FromDecimal;
      append_ = &AppendQuoted;
      match_ = &MatchDecimal;
      break;
    case ColumnKind::kFloat:
    case ColumnKind::kDouble:
      from_ = &FromFloating;
      append_ = &AppendFloating;
      match_ = &MatchNumber;
      break;
    case ColumnKind::kString:
      from_ = &FromString;
      append_ = &AppendQuoted;
      break;
    case ColumnKind::kBinary:
      from_ = &FromBinary;
      append_ = &AppendBinary;
      match_ = &MatchBase64;
      break;
    case ColumnKind::kDate:
      from_ = &FromDate;
      append_ = &AppendQuoted;
      break;
    case ColumnKind::kDateTime:
    case ColumnKind::kTimestamp:
      from_ = &FromDateTime;
      append_ = &AppendDateTime;
      break;
    case ColumnKind::kTime:
      from_ = &FromTime;
      append_ = &AppendQuoted;
      break;
    case ColumnKind::kBit:
      from_ = &FromBit;
      append_ = &AppendBit;
      match_ = &MatchBit;
      break;
    case ColumnKind::kEnum:
      from_ = &FromEnum;
      append_ = &AppendQuoted;
      break;
    case ColumnKind::kSet:
      from_ = &FromSet;
      append_ = &AppendQuoted;
      break;
    case ColumnKind::kJson:
      from_ = &FromJsonColumn;
      match_ = &MatchAnyJson;
      break;
  }
}

size_t ColumnCodec::MatchJson(std::string_view text) const {
  if (text.substr(0, 4) == "null") return col_->nullable ? 4 : 0;
  return match_(*col_, text);
}

Status ColumnCodec::FromJson(const json::value& v, std::optional<std::string>& out) const {
  if (v.is_null()) {
    if (!col_->nullable) return Status::InvalidArgument("null for a NOT NULL column");
    out.reset();
    return Status::OK();
  }
  std::string text;
  Status s = from_(*col_, v, text);
  if (!s.ok()) return s;
  out = std::move(text);
  return Status::OK();
}

void ColumnCodec::AppendJson(std::string& out, const std::optional<std::string>& value) const {
  if (!value) {
    out.append("null");
    return;
  }
  append_(*col_, out, *value);
}

size_t ColumnCodec::MaxJsonBytes() const {
  const Column& c = *col_;
  const size_t kUnbounded = SIZE_MAX;
  switch (c.kind) {
    case ColumnKind::kInteger: {
      IntRange r = RangeOf(c);
      return std::max(std::to_string(r.lo).size(), std::to_string(r.hi).size());
    }
    case ColumnKind::kYear:
      return 4;
    case ColumnKind::kBit:
      return 20;
    case ColumnKind::kDecimal:
      return static_cast<size_t>(c.precision) + 4;
    case ColumnKind::kFloat:
    case ColumnKind::kDouble:
      return 24;
    case ColumnKind::kString:
      // Each character escaped as \u00XX at worst (6 bytes), a 4-byte one stays 4.
      if (c.length > 65535) return kUnbounded;
      return 2 + 6 * c.length;
    case ColumnKind::kBinary:
      if (c.length > 65535) return kUnbounded;
      return 2 + (c.length + 2) / 3 * 4;
    case ColumnKind::kDate:
    case ColumnKind::kDateTime:
    case ColumnKind::kTimestamp:
    case ColumnKind::kTime:
      return 32;
    case ColumnKind::kEnum:
    case ColumnKind::kSet: {
      size_t n = 2;
      for (const std::string& m : c.members) n += 6 * m.size() + 1;
      return n;
    }
    case ColumnKind::kJson:
      return kUnbounded;
  }
  return kUnbounded;
}

RowCodec::RowCodec(const TableSchema& schema) : schema_(&schema) {
  columns_.reserve(schema.columns.size());
  for (const Column& c : schema.columns) {
    columns_.emplace_back(c);
    std::string n;
    AppendJsonString(n, c.name);
    n += ": ";
    names_.push_back(std::move(n));
  }
}

void RowCodec::AppendRowJson(std::string& out, const RowValues& row) const {
  out.push_back('{');
  for (size_t i = 0; i < columns_.size(); ++i) {
    if (i) out.append(", ");
    out.append(names_[i]);
    columns_[i].AppendJson(out, i < row.size() ? row[i] : std::nullopt);
  }
  out.push_back('}');
}

std::string RowCodec::RowJson(const RowValues& row) const {
  std::string s;
  s.reserve(128);
  AppendRowJson(s, row);
  return s;
}

bool RowCodec::MatchesRowJson(std::string_view text, std::span<const std::string_view> key_json) const {
  const std::vector<size_t>& key = schema_->key;
  if (text.size() < 2 || text[0] != '{') return false;
  size_t i = 1;
  for (size_t c = 0; c < columns_.size(); ++c) {
    if (c) {
      if (text.compare(i, 2, ", ") != 0) return false;
      i += 2;
    }
    if (text.compare(i, names_[c].size(), names_[c]) != 0) return false;
    i += names_[c].size();
    size_t n = columns_[c].MatchJson(text.substr(i));
    if (n == 0) return false;
    if (!key_json.empty()) {
      for (size_t k = 0; k < key.size() && k < key_json.size(); ++k) {
        if (key[k] == c && text.substr(i, n) != key_json[k]) return false;
      }
    }
    i += n;
  }
  return i + 1 == text.size() && text[i] == '}';
}

size_t RowCodec::MaxRowJsonBytes() const {
  size_t n = 2;
  for (size_t i = 0; i < columns_.size(); ++i) {
    size_t v = columns_[i].MaxJsonBytes();
    if (v == SIZE_MAX) return SIZE_MAX;
    n += names_[i].size() + v + (i ? 2 : 0);
  }
  return n;
}

void AppendBase64(std::string& out, std::string_view b) {
  const auto* p = reinterpret_cast<const unsigned char*>(b.data());
  size_t i = 0;
  for (; i + 3 <= b.size(); i += 3) {
    uint32_t v = (p[i] << 16) | (p[i + 1] << 8) | p[i + 2];
    out.push_back(kB64[v >> 18]);
    out.push_back(kB64[(v >> 12) & 63]);
    out.push_back(kB64[(v >> 6) & 63]);
    out.push_back(kB64[v & 63]);
  }
  size_t rest = b.size() - i;
  if (rest == 1) {
    uint32_t v = p[i] << 16;
    out.push_back(kB64[v >> 18]);
    out.push_back(kB64[(v >> 12) & 63]);
    out.append("==");
  } else if (rest == 2) {
    uint32_t v = (p[i] << 16) | (p[i + 1] << 8);
    out.push_back(kB64[v >> 18]);
    out.push_back(kB64[(v >> 12) & 63]);
    out.push_back(kB64[(v >> 6) & 63]);
    out.push_back('=');
  }
}

std::optional<std::string> DecodeBase64(std::string_view s) {
  if (s.size() % 4 == 0 && !s.empty() && s.back() == '=') {
    s.remove_suffix(1);
    if (!s.empty() && s.back() == '=') s.remove_suffix(1);
  }
  if (s.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(s.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char ch : s) {
    const char* pos = ch ? std::strchr(kB64, ch) : nullptr;
    if (!pos) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(pos - kB64);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  // The bits left over must be zero: one text per byte string.
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

}  // namespace rowcache
