#include "store/mysql/local_infile.h"

#include <errmsg.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace rowcache {

namespace {

void AppendEscaped(std::string& out, const std::string& s) {
  for (char ch : s) {
    switch (ch) {
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\0':
        out += "\\0";
        break;
      default:
        out.push_back(ch);
    }
  }
}

void AppendRowText(std::string& out, const Row& r) {
  out += std::to_string(r.id);
  out.push_back('\t');
  AppendEscaped(out, r.hero);
  out.push_back('\t');
  AppendEscaped(out, r.power);
  out.push_back('\t');
  AppendEscaped(out, r.name);
  out.push_back('\t');
  out += std::to_string(r.xp);
  out.push_back('\t');
  AppendEscaped(out, r.color);
  out.push_back('\n');
}

}  // namespace

// Connector/C calls this when the server asks for a local file. Only our own
// statement's name, and only while that statement runs, is served (from
// memory); anything else is refused without touching the file system.
int InfileInit(void** ptr, const char* filename, void* userdata) {
  auto* st = static_cast<InfileState*>(userdata);
  *ptr = st;
  if (!st->active || !filename || std::strcmp(filename, kInfileName) != 0) {
    st->refused = filename ? filename : "";
    return 1;
  }
  st->refused.clear();
  return 0;
}

// Serializes rows as the server asks for bytes, so building the text
// overlaps the server inserting what it already has.
int InfileRead(void* ptr, char* buf, unsigned int len) {
  auto* b = static_cast<InfileState*>(ptr)->active;
  if (!b) return -1;
  size_t filled = 0;
  while (filled < len) {
    if (b->pos == b->pending.size()) {
      if (b->next == b->rows.size()) break;
      b->pending.clear();
      b->pos = 0;
      for (int k = 0; k < 256 && b->next < b->rows.size(); ++k) AppendRowText(b->pending, b->rows[b->next++]);
    }
    size_t n = std::min<size_t>(len - filled, b->pending.size() - b->pos);
    std::memcpy(buf + filled, b->pending.data() + b->pos, n);
    b->pos += n;
    filled += n;
  }
  return static_cast<int>(filled);
}

void InfileEnd(void*) {}
int InfileError(void* ptr, char* msg, unsigned int len) {
  auto* st = static_cast<InfileState*>(ptr);
  if (st && !st->refused.empty()) {
    std::snprintf(msg, len,
                  "the server asked for local file '%.200s'; refused (only '%s', from memory, during "
                  "rowcache's own LOAD DATA)",
                  st->refused.c_str(), kInfileName);
  } else {
    std::snprintf(msg, len, "rowcache: local infile error");
  }
  return CR_UNKNOWN_ERROR;
}

void SetLocalInfile(MYSQL* m, bool on) {
  unsigned v = on ? 1 : 0;
  mysql_options(m, MYSQL_OPT_LOCAL_INFILE, &v);
}

}  // namespace rowcache
