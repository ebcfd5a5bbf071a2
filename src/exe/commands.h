// Entry points of the rowcache subcommands. main() dispatches on argv[1];
// each gets the arguments after the subcommand name and returns the exit code.
#pragma once

#include <string>
#include <vector>

namespace rowcache {

int ServeMain(const std::vector<std::string>& args);   // src/exe/serve_command.cc
int LoadMain(const std::vector<std::string>& args);    // src/exe/load_command.cc
int LambdaMain(const std::vector<std::string>& args);  // src/exe/lambda_command.cc
int BenchMain(const std::vector<std::string>& args);   // src/exe/bench_command.cc

}  // namespace rowcache
