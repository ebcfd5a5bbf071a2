// MysqlStore: MySQL / MariaDB / Aurora MySQL through MariaDB Connector/C.
#pragma once

#include <memory>

#include "rowcache/store.h"
#include "rowcache/url.h"

namespace rowcache {

// url: mysql://user:pass@host[:port]/database[?table=heroes&ssl=1...]
// Connects lazily (the first call); InvalidArgument for a bad URL/table.
Result<std::unique_ptr<Store>> NewMysqlStore(const Url& url, const StoreOptions& opts);

// Runs one statement (e.g. Aurora's LOAD DATA FROM S3) on a new connection;
// returns mysql_info() ("Records: N  Deleted: N  Skipped: N  Warnings: N"), or "".
Result<std::string> MysqlExecute(const Url& url, const StoreOptions& opts, const std::string& sql);

}  // namespace rowcache
