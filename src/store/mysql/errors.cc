#include "store/mysql/errors.h"

#include <errmsg.h>
#include <mysqld_error.h>

namespace rowcache {

bool IsConnectionError(unsigned err) {
  return err == CR_SERVER_GONE_ERROR || err == CR_SERVER_LOST || err == CR_CONNECTION_ERROR ||
         err == CR_CONN_HOST_ERROR || err == CR_UNKNOWN_HOST || err == CR_COMMANDS_OUT_OF_SYNC ||
         err == ER_CONNECTION_KILLED || err == kErrSslConnection;
}

MysqlErrorClass ClassOf(unsigned err) {
  if (IsConnectionError(err)) return MysqlErrorClass::kConnection;
  if (err == ER_DATA_TOO_LONG || err == ER_TRUNCATED_WRONG_VALUE || err == ER_WARN_DATA_OUT_OF_RANGE ||
      err == kErrBadNull || err == kErrTruncatedValue) {
    return MysqlErrorClass::kData;
  }
  if (err == ER_LOCK_DEADLOCK || err == kErrLockWaitTimeout || err == ER_QUERY_INTERRUPTED ||
      err == kErrReadOnly || err == kErrReadOnlyTransaction) {
    return MysqlErrorClass::kTransient;
  }
  return MysqlErrorClass::kOther;
}

// "field 'hero': ..." from a data error's message, which names the column
// as 'hero' or `db`.`table`.`hero`.
std::string DataErrorMessage(unsigned err, const std::string& msg) {
  // The last " column " (a value in the message comes before it), then the
  // last quoted name in what follows.
  std::string column;
  size_t at = msg.rfind(" column "), skip = 8;
  if (at == std::string::npos && msg.rfind("Column ", 0) == 0)
    at = 0, skip = 7;  // "Column 'x' cannot be null"
  if (at != std::string::npos) {
    std::string rest = msg.substr(at + skip);
    char q = rest.empty() ? 0 : rest[0];
    auto close = (q == '\'' || q == '`') ? rest.rfind(q) : std::string::npos;
    auto open = close != std::string::npos && close > 0 ? rest.rfind(q, close - 1) : std::string::npos;
    if (open != std::string::npos && close > open + 1) column = rest.substr(open + 1, close - open - 1);
  }
  const char* what = err == ER_DATA_TOO_LONG            ? "too long for the column"
                     : err == ER_WARN_DATA_OUT_OF_RANGE ? "out of range for the column"
                     : err == kErrBadNull               ? "must not be null"
                                                        : "not a valid value for the column";
  return (column.empty() ? std::string("a value") : "field '" + column + "'") + ": " + what;
}

}  // namespace rowcache
