// SqliteStore: the embedded default ("sqlite:PATH", "sqlite::memory:").
#pragma once

#include <memory>
#include <string>

#include "rowcache/store.h"

namespace rowcache {

Result<std::unique_ptr<Store>> NewSqliteStore(const std::string& path, const std::string& table,
                                              const StoreOptions& opts);

}  // namespace rowcache
