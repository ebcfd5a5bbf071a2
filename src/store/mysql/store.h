// MysqlStore: MySQL / MariaDB / Aurora MySQL through MariaDB Connector/C.
#pragma once

#include <memory>

#include "rowcache/store.h"
#include "rowcache/url.h"

namespace rowcache {

// url: mysql://user:pass@host[:port]/database[?table=heroes&ssl-mode=VERIFY_IDENTITY&ssl-ca=FILE...]
// ssl-mode: DISABLED (the default), REQUIRED, VERIFY_CA, VERIFY_IDENTITY; the
// CA is ssl-ca or the system's store (SystemCaLocations in net/transport.h).
// Connects lazily (the first call); InvalidArgument for a bad URL/table, an
// unknown ssl-mode, an unreadable ssl-ca, or a VERIFY_* mode with no CA.
Result<std::unique_ptr<Store>> NewMysqlStore(const Url& url, const StoreOptions& opts);

// Runs one statement (e.g. Aurora's LOAD DATA FROM S3) on a new connection;
// returns mysql_info() ("Records: N  Deleted: N  Skipped: N  Warnings: N"), or "".
Result<std::string> MysqlExecute(const Url& url, const StoreOptions& opts, const std::string& sql);

}  // namespace rowcache
