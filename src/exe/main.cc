// rowcache: the command-line front door. Parses the subcommand and hands the
// rest of the arguments to its entry point; no logic of its own.
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "exe/commands.h"

namespace {

constexpr const char* kUsage = R"(rowcache: a read/write API for table rows with a Redis cache in front

usage:
  rowcache serve [--listen HOST:PORT] [--db URL] [--cache URL] [options]
  rowcache load  --db URL --from FILE.csv|s3://BUCKET/KEY [--replace] [--strict] [--cache URL]
  rowcache lambda   the AWS Lambda custom runtime (also when run as "bootstrap")
  rowcache bench [--target http://HOST:PORT/|inproc] [--mix R:W] [--use-cache both] [options]
                    load generator and measurements (also: bench proxy, bench trivial-server)
  rowcache help | --help | --version

Run "rowcache COMMAND --help" for a command's options.
)";

}  // namespace

int main(int argc, char** argv) {
  // A peer that closes a socket mid-write (OpenSSL writes with write(2))
  // must fail that write with EPIPE, not end the process.
  std::signal(SIGPIPE, SIG_IGN);
  std::vector<std::string> args(argv + 1, argv + argc);
  // A Lambda custom runtime starts the executable named "bootstrap".
  std::string self = argc > 0 ? argv[0] : "";
  if (self == "bootstrap" || (self.size() > 10 && self.compare(self.size() - 10, 10, "/bootstrap") == 0)) {
    return rowcache::LambdaMain(args);
  }
  if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
    std::fputs(kUsage, args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  if (args[0] == "--version") {
    std::puts("rowcache 0.1.0");
    return 0;
  }
  std::string cmd = args[0];
  args.erase(args.begin());
  if (cmd == "serve") return rowcache::ServeMain(args);
  if (cmd == "load") return rowcache::LoadMain(args);
  if (cmd == "lambda") return rowcache::LambdaMain(args);
  if (cmd == "bench") return rowcache::BenchMain(args);
  std::fprintf(stderr, "rowcache: unknown command '%s'\n\n%s", cmd.c_str(), kUsage);
  return 2;
}
