// A user name and password: what a database or cache connection
// authenticates with, what a secret (AWS Secrets Manager) holds, and what a
// store's or cache's refresh_credentials hands back after a rotation.
#pragma once

#include <string>

namespace rowcache {

struct Credentials {
  std::string user;  // empty: none named (a refresh keeps the user already in use)
  std::string password;
};

}  // namespace rowcache
