#include "exe/flags.h"

#include <cerrno>
#include <cstdlib>

namespace rowcache {

Result<Flags> Flags::Parse(const std::vector<std::string>& args, const std::set<std::string>& value_flags,
                           const std::set<std::string>& bool_flags) {
  Flags f;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.rfind("--", 0) != 0 || a == "--") {
      f.positional_.push_back(a);
      continue;
    }
    std::string name = a.substr(2);
    std::optional<std::string> value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    if (bool_flags.count(name)) {
      if (value) return Status::InvalidArgument("--" + name + " takes no value");
      f.values_[name] = "1";
    } else if (value_flags.count(name)) {
      if (!value) {
        if (i + 1 >= args.size()) return Status::InvalidArgument("--" + name + " needs a value");
        value = args[++i];
      }
      f.values_[name] = *value;
    } else {
      return Status::InvalidArgument("unknown flag --" + name);
    }
  }
  return f;
}

std::string Flags::Get(const std::string& name, const char* env, const std::string& def) const {
  if (auto it = values_.find(name); it != values_.end()) return it->second;
  if (env) {
    const char* v = std::getenv(env);
    if (v && *v) return v;
  }
  return def;
}

Result<long long> ParseIntFlag(const std::string& flag, const std::string& text, long long lo, long long hi) {
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno == ERANGE || v < lo || v > hi) {
    return Status::InvalidArgument("--" + flag + ": expected a whole number from " + std::to_string(lo) +
                                   " to " + std::to_string(hi) + ", got '" + text + "'");
  }
  return v;
}

Result<double> ParseDoubleFlag(const std::string& flag, const std::string& text, double lo, double hi) {
  errno = 0;
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || errno == ERANGE || !(v >= lo && v <= hi)) {
    return Status::InvalidArgument("--" + flag + ": expected a number from " + std::to_string(lo) + " to " +
                                   std::to_string(hi) + ", got '" + text + "'");
  }
  return v;
}

}  // namespace rowcache
