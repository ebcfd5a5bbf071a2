// Command-line flags: "--name value", "--name=value", and boolean "--name".
// Only main() and the command entry points use this; the core never does.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "rowcache/status.h"

namespace rowcache {

class Flags {
 public:
  // value_flags take a value; bool_flags do not. Anything else is an error.
  static Result<Flags> Parse(const std::vector<std::string>& args, const std::set<std::string>& value_flags,
                             const std::set<std::string>& bool_flags);

  bool Has(const std::string& name) const { return values_.count(name) > 0; }
  // The flag's value, else the environment variable env (if non-empty), else def.
  std::string Get(const std::string& name, const char* env = nullptr, const std::string& def = "") const;
  bool Bool(const std::string& name) const { return values_.count(name) > 0; }
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  std::map<std::string, std::string> values_;
  std::vector<std::string> positional_;
};

// Parses a whole decimal number within [lo, hi]; InvalidArgument naming the flag otherwise.
Result<long long> ParseIntFlag(const std::string& flag, const std::string& text, long long lo, long long hi);
Result<double> ParseDoubleFlag(const std::string& flag, const std::string& text, double lo, double hi);

}  // namespace rowcache
