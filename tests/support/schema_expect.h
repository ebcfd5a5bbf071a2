// Expectations on a discovered TableSchema, shared by the schema discovery
// tests of each store: one line per Column naming every field discovery
// fills ("id int(11) integer bytes=4 signed | not-null default auto"), and
// the checks on a servable table and on a cascade child.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "rowcache/schema.h"

namespace rowcache::testing {

inline const char* KindName(ColumnKind k) {
  switch (k) {
    case ColumnKind::kInteger:
      return "integer";
    case ColumnKind::kYear:
      return "year";
    case ColumnKind::kDecimal:
      return "decimal";
    case ColumnKind::kFloat:
      return "float";
    case ColumnKind::kDouble:
      return "double";
    case ColumnKind::kString:
      return "string";
    case ColumnKind::kBinary:
      return "binary";
    case ColumnKind::kDate:
      return "date";
    case ColumnKind::kDateTime:
      return "datetime";
    case ColumnKind::kTimestamp:
      return "timestamp";
    case ColumnKind::kTime:
      return "time";
    case ColumnKind::kBit:
      return "bit";
    case ColumnKind::kEnum:
      return "enum";
    case ColumnKind::kSet:
      return "set";
    case ColumnKind::kJson:
      return "json";
  }
  return "?";
}

// Name, sql_type, kind, the kind's type parameters, then after "|" the
// flags: nullability (always), default, auto, generated, prefix (when set).
inline std::string ColumnSummary(const Column& c) {
  std::string s = c.name + " " + c.sql_type + " " + KindName(c.kind);
  switch (c.kind) {
    case ColumnKind::kInteger:
      s += " bytes=" + std::to_string(c.int_bytes) + (c.is_unsigned ? " unsigned" : " signed");
      break;
    case ColumnKind::kDecimal:
      s += " " + std::to_string(c.precision) + "," + std::to_string(c.scale);
      break;
    case ColumnKind::kString:
    case ColumnKind::kBinary:
      s += " len=" + std::to_string(c.length);
      if (c.kind == ColumnKind::kString) s += c.length_in_chars ? " chars" : " bytes";
      if (c.fixed_length) s += " fixed";
      break;
    case ColumnKind::kDateTime:
    case ColumnKind::kTimestamp:
    case ColumnKind::kTime:
      s += " fsp=" + std::to_string(c.fsp);
      break;
    case ColumnKind::kBit:
      s += " bits=" + std::to_string(c.length);
      break;
    case ColumnKind::kEnum:
    case ColumnKind::kSet:
      for (size_t i = 0; i < c.members.size(); ++i) s += (i ? "," : " [") + c.members[i];
      s += "]";
      break;
    default:
      break;
  }
  if (!c.charset.empty() || !c.collation.empty()) s += " " + c.charset + "/" + c.collation;
  s += c.nullable ? " | null" : " | not-null";
  if (c.has_default) s += " default";
  if (c.auto_increment) s += " auto";
  if (c.generated) s += " generated";
  if (c.prefix_indexed) s += " prefix";
  return s;
}

inline std::vector<std::string> ColumnSummaries(const TableSchema& t) {
  std::vector<std::string> out;
  for (const Column& c : t.columns) out.push_back(ColumnSummary(c));
  return out;
}

// t has these columns and key, an auto-increment key or not, is no cascade
// child, and CheckServable accepts it.
inline void ExpectServable(const TableSchema& t, const std::vector<std::string>& columns,
                           const std::vector<size_t>& key, bool auto_increment_key) {
  EXPECT_EQ(ColumnSummaries(t), columns) << t.name;
  EXPECT_EQ(t.key, key) << t.name;
  EXPECT_EQ(t.HasAutoIncrementKey(), auto_increment_key) << t.name;
  EXPECT_FALSE(t.cascade_child) << t.name;
  EXPECT_EQ(t.cascade_parent, "") << t.name;
  Status s = CheckServable(t, /*allow_cascade_children=*/false);
  EXPECT_TRUE(s.ok()) << s.ToString();
}

// t is the child of a cascading foreign key from parent: refused unless
// cascade children are allowed, naming the parent.
inline void ExpectCascadeChild(const TableSchema& t, const std::string& parent) {
  EXPECT_TRUE(t.cascade_child) << t.name;
  EXPECT_EQ(t.cascade_parent, parent) << t.name;
  Status refused = CheckServable(t, /*allow_cascade_children=*/false);
  EXPECT_TRUE(refused.IsInvalidArgument()) << t.name;
  EXPECT_NE(refused.message().find("CASCADE from table " + parent), std::string::npos) << refused.ToString();
  EXPECT_TRUE(CheckServable(t, /*allow_cascade_children=*/true).ok()) << t.name;
}

}  // namespace rowcache::testing
