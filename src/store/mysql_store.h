// MysqlStore: MySQL / MariaDB / Aurora MySQL through MariaDB Connector/C.
#pragma once

#include <memory>

#include "rowcache/store.h"
#include "rowcache/url.h"

namespace rowcache {

// url: mysql://user:pass@host[:port]/database[?table=heroes&ssl=1...]
// Connects lazily (the first call); InvalidArgument for a bad URL/table.
Result<std::unique_ptr<Store>> NewMysqlStore(const Url& url, const StoreOptions& opts);

}  // namespace rowcache
