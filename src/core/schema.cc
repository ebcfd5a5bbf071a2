#include "rowcache/schema.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace rowcache {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// The parts of a type text: "int(10) unsigned zerofill" -> base "int",
// args "10", flags "unsigned zerofill".
struct TypeText {
  std::string base;
  std::string args;  // between the parentheses, as written ("" if none)
  bool has_args = false;
  std::string flags;
};

bool SplitType(std::string_view text, TypeText& t) {
  text = Trim(text);
  size_t open = text.find('(');
  if (open == std::string_view::npos) {
    size_t sp = text.find(' ');
    t.base = Lower(Trim(text.substr(0, sp)));
    if (sp != std::string_view::npos) t.flags = Lower(Trim(text.substr(sp)));
    return !t.base.empty();
  }
  t.base = Lower(Trim(text.substr(0, open)));
  // The closing parenthesis: the last one (enum members may hold parentheses).
  size_t close = text.rfind(')');
  if (close == std::string_view::npos || close < open) return false;
  t.args = std::string(text.substr(open + 1, close - open - 1));
  t.has_args = true;
  t.flags = Lower(Trim(text.substr(close + 1)));
  return !t.base.empty();
}

bool ParseUint(std::string_view s, uint64_t& out) {
  s = Trim(s);
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

// "'a','b''c'" -> {"a", "b'c"}; MySQL doubles a quote inside a member.
bool ParseMembers(std::string_view s, std::vector<std::string>& out) {
  size_t i = 0;
  out.clear();
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') ++i;
    if (i >= s.size() || s[i] != '\'') return false;
    ++i;
    std::string m;
    for (;;) {
      if (i >= s.size()) return false;
      if (s[i] == '\'') {
        if (i + 1 < s.size() && s[i + 1] == '\'') {
          m.push_back('\'');
          i += 2;
          continue;
        }
        ++i;
        break;
      }
      m.push_back(s[i++]);
    }
    out.push_back(std::move(m));
    while (i < s.size() && s[i] == ' ') ++i;
    if (i < s.size()) {
      if (s[i] != ',') return false;
      ++i;
    }
  }
  return !out.empty();
}

Status Unsupported(std::string_view type_text) {
  return Status::InvalidArgument("type " + std::string(type_text) + " is not one rowcache can serve");
}

bool HasFlag(const std::string& flags, std::string_view f) { return flags.find(f) != std::string::npos; }

}  // namespace

size_t TableSchema::ColumnIndex(std::string_view n) const {
  for (size_t i = 0; i < columns.size(); ++i) {
    if (columns[i].name == n) return i;
  }
  return columns.size();
}

Status ParseColumnType(std::string_view type_text, Column& c, bool sqlite) {
  TypeText t;
  if (!SplitType(type_text, t)) return Unsupported(type_text);
  c.sql_type = Lower(Trim(type_text));
  const std::string& b = t.base;
  uint64_t n = 0;
  auto one_arg = [&](uint64_t dflt) {
    if (!t.has_args) return dflt;
    uint64_t v = 0;
    return ParseUint(t.args, v) ? v : UINT64_MAX;
  };

  // Integers. SQLite's declared INT/INTEGER read as MySQL's (4 bytes), so the
  // heroes table answers the same on both stores; SQLite's own integers are
  // 8 bytes signed, so no BIGINT UNSIGNED beyond 2^63 - 1 there.
  static const std::pair<const char*, int> kInts[] = {{"tinyint", 1}, {"smallint", 2}, {"mediumint", 3},
                                                      {"int", 4},     {"integer", 4},  {"bigint", 8}};
  for (const auto& [name, bytes] : kInts) {
    if (b == name) {
      c.kind = ColumnKind::kInteger;
      c.int_bytes = bytes;
      c.is_unsigned = HasFlag(t.flags, "unsigned");
      if (sqlite && c.is_unsigned && bytes == 8) {
        return Status::InvalidArgument("type " + std::string(type_text) +
                                       ": SQLite holds no integer above 2^63 - 1 (use BIGINT)");
      }
      return Status::OK();
    }
  }
  if (b == "bool" || b == "boolean") {
    c.kind = ColumnKind::kInteger;
    c.int_bytes = 1;
    c.is_unsigned = false;
    return Status::OK();
  }
  if (b == "year") {
    c.kind = ColumnKind::kYear;
    return Status::OK();
  }
  if (b == "decimal" || b == "numeric" || b == "dec" || b == "fixed") {
    c.kind = ColumnKind::kDecimal;
    c.precision = 10;
    c.scale = 0;
    if (t.has_args) {
      std::string_view a = t.args;
      size_t comma = a.find(',');
      uint64_t p = 0, s = 0;
      if (!ParseUint(a.substr(0, comma), p) ||
          (comma != std::string_view::npos && !ParseUint(a.substr(comma + 1), s))) {
        return Unsupported(type_text);
      }
      if (p < 1 || p > 65 || s > 30 || s > p) return Unsupported(type_text);
      c.precision = static_cast<int>(p);
      c.scale = static_cast<int>(s);
    }
    return Status::OK();
  }
  if (b == "float") {
    // FLOAT(p) with p > 24 is a DOUBLE; FLOAT(m,d) stays single precision.
    c.kind = ColumnKind::kFloat;
    if (t.has_args && t.args.find(',') == std::string::npos && ParseUint(t.args, n) && n > 24) {
      c.kind = ColumnKind::kDouble;
    }
    return Status::OK();
  }
  if (b == "double" || b == "real" || b == "double precision") {
    c.kind = ColumnKind::kDouble;
    return Status::OK();
  }
  // Strings. SQLite does not enforce VARCHAR(n); rowcache does, on both.
  if (b == "char" || b == "varchar" || b == "character" || b == "nchar" || b == "nvarchar" ||
      b == "varchar2" || b == "character varying") {
    c.kind = ColumnKind::kString;
    c.fixed_length = (b == "char" || b == "character" || b == "nchar");
    c.length_in_chars = true;
    c.length = one_arg(c.fixed_length ? 1 : UINT64_MAX);
    if (c.length == UINT64_MAX) {
      if (!sqlite) return Unsupported(type_text);
      c.length = 4294967295ULL;  // SQLite: no limit of its own; a TEXT's
      c.length_in_chars = false;
    }
    return Status::OK();
  }
  static const std::pair<const char*, uint64_t> kTexts[] = {{"tinytext", 255},
                                                            {"text", 65535},
                                                            {"mediumtext", 16777215},
                                                            {"longtext", 4294967295ULL},
                                                            {"clob", 4294967295ULL}};
  for (const auto& [name, bytes] : kTexts) {
    if (b == name) {
      c.kind = ColumnKind::kString;
      c.length = sqlite ? 4294967295ULL : bytes;
      c.length_in_chars = false;
      c.fixed_length = false;
      return Status::OK();
    }
  }
  if (b == "binary" || b == "varbinary") {
    c.kind = ColumnKind::kBinary;
    c.fixed_length = b == "binary";
    c.length = one_arg(c.fixed_length ? 1 : UINT64_MAX);
    if (c.length == UINT64_MAX) return Unsupported(type_text);
    return Status::OK();
  }
  static const std::pair<const char*, uint64_t> kBlobs[] = {
      {"tinyblob", 255}, {"blob", 65535}, {"mediumblob", 16777215}, {"longblob", 4294967295ULL}};
  for (const auto& [name, bytes] : kBlobs) {
    if (b == name) {
      c.kind = ColumnKind::kBinary;
      // BLOB(n) on MySQL picks the smallest blob type that holds n bytes.
      c.length = sqlite ? 4294967295ULL : bytes;
      c.fixed_length = false;
      return Status::OK();
    }
  }
  auto fsp = [&]() -> bool {
    uint64_t v = one_arg(0);
    if (v > 6) return false;
    c.fsp = static_cast<int>(v);
    return true;
  };
  if (b == "date") {
    c.kind = ColumnKind::kDate;
    return Status::OK();
  }
  if (b == "datetime" || b == "timestamp" || b == "time") {
    c.kind = b == "datetime"    ? ColumnKind::kDateTime
             : b == "timestamp" ? ColumnKind::kTimestamp
                                : ColumnKind::kTime;
    if (!fsp()) return Unsupported(type_text);
    return Status::OK();
  }
  if (b == "bit") {
    c.kind = ColumnKind::kBit;
    c.length = one_arg(1);
    if (c.length < 1 || c.length > 64) return Unsupported(type_text);
    return Status::OK();
  }
  if (b == "enum" || b == "set") {
    c.kind = b == "enum" ? ColumnKind::kEnum : ColumnKind::kSet;
    if (!t.has_args || !ParseMembers(t.args, c.members)) return Unsupported(type_text);
    if (c.kind == ColumnKind::kSet && c.members.size() > 64) return Unsupported(type_text);
    return Status::OK();
  }
  if (b == "json") {
    c.kind = ColumnKind::kJson;
    return Status::OK();
  }
  return Unsupported(type_text);
}

Status CheckServable(const TableSchema& t, bool allow_cascade_children) {
  std::string head = "table " + t.name + ": ";
  if (t.columns.empty()) return Status::InvalidArgument(head + "no columns");
  for (const Column& c : t.columns) {
    if (!IsValidColumnName(c.name)) {
      return Status::InvalidArgument(head + "column " + c.name +
                                     ": a name rowcache cannot quote (letters, digits, _ and $, at most 64)");
    }
  }
  if (t.key.empty())
    return Status::InvalidArgument(head + "no primary key (rowcache serves rows by primary key)");
  for (size_t k : t.key) {
    if (k >= t.columns.size()) return Status::InvalidArgument(head + "a key column out of range");
    const Column& c = t.columns[k];
    std::string col = head + "column " + c.name + ": ";
    if (c.prefix_indexed) {
      return Status::InvalidArgument(
          col +
          "the primary key holds only a prefix of it (rows could not be told apart by "
          "the key rowcache caches them under)");
    }
    if (c.kind == ColumnKind::kFloat || c.kind == ColumnKind::kDouble) {
      return Status::InvalidArgument(col + "a FLOAT or DOUBLE column cannot be part of the primary key");
    }
    if (c.kind == ColumnKind::kJson)
      return Status::InvalidArgument(col + "a JSON column cannot be part of the primary key");
    if (c.generated)
      return Status::InvalidArgument(col + "a generated column cannot be part of the primary key");
    if (c.nullable) {
      return Status::InvalidArgument(col +
                                     "a key column that may be NULL (a row with a NULL key has no key to be "
                                     "read or cached by)");
    }
  }
  if (t.cascade_child && !allow_cascade_children) {
    return Status::InvalidArgument(head + "its rows change by ON UPDATE/DELETE CASCADE from table " +
                                   t.cascade_parent +
                                   " without any statement naming them, so its cache would go stale; "
                                   "--allow-cascade-children serves it anyway (see docs/reliability.md)");
  }
  return Status::OK();
}

namespace {
void Mix(uint64_t& h, std::string_view s) {
  for (unsigned char ch : s) {
    h ^= ch;
    h *= 1099511628211ULL;
  }
  h ^= 0xff;  // a separator, so "ab"+"c" and "a"+"bc" differ
  h *= 1099511628211ULL;
}
void Mix(uint64_t& h, uint64_t v) { Mix(h, std::to_string(v)); }
}  // namespace

uint64_t Fingerprint(const TableSchema& t) {
  uint64_t h = 14695981039346656037ULL;
  Mix(h, t.name);
  for (size_t i = 0; i < t.columns.size(); ++i) {
    const Column& c = t.columns[i];
    Mix(h, c.name);
    Mix(h, static_cast<uint64_t>(c.kind));
    Mix(h, static_cast<uint64_t>(c.int_bytes));
    Mix(h, c.is_unsigned ? 1 : 0);
    Mix(h, c.length);
    Mix(h, c.length_in_chars ? 1 : 0);
    Mix(h, c.fixed_length ? 1 : 0);
    Mix(h, c.charset);
    Mix(h, c.collation);  // how string keys match
    Mix(h, static_cast<uint64_t>(c.precision));
    Mix(h, static_cast<uint64_t>(c.scale));
    Mix(h, static_cast<uint64_t>(c.fsp));
    for (const std::string& m : c.members) Mix(h, m);
    Mix(h, c.nullable ? 1 : 0);
    Mix(h, c.generated ? 1 : 0);
    auto pos = std::find(t.key.begin(), t.key.end(), i);
    Mix(h, pos == t.key.end() ? 0 : static_cast<uint64_t>(pos - t.key.begin()) + 1);
  }
  return h;
}

TableSchema HeroesSchema(std::string_view name) {
  TableSchema t;
  t.name = std::string(name);
  auto str = [](const char* n) {
    Column c;
    c.name = n;
    c.kind = ColumnKind::kString;
    c.sql_type = "varchar(20)";
    c.length = 20;
    c.length_in_chars = true;
    c.charset = "utf8mb4";
    c.collation = "utf8mb4_bin";  // as serve and load create it
    return c;
  };
  auto integer = [](const char* n) {
    Column c;
    c.name = n;
    c.kind = ColumnKind::kInteger;
    c.sql_type = "int";
    c.int_bytes = 4;
    return c;
  };
  Column id = integer("id");
  id.auto_increment = true;
  id.has_default = true;
  t.columns = {id, str("hero"), str("power"), str("name"), integer("xp"), str("color")};
  t.key = {0};
  return t;
}

namespace {
bool NameOf(std::string_view name, bool dollar) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [dollar](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           (dollar && c == '$');
  });
}
}  // namespace

bool IsValidTableName(std::string_view name) { return NameOf(name, false); }
bool IsValidColumnName(std::string_view name) { return NameOf(name, true); }

}  // namespace rowcache
