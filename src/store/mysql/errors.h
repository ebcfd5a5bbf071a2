// MySQL / MariaDB error numbers, by name, and what the store makes of them.
//
// Contract: ClassOf sorts every error number into one class -- the
// connection is gone or unusable (the store drops it; Unavailable), the
// client's data was refused (InvalidArgument naming the field, never the
// server's message, which may name hosts and schemas), a transient refusal
// (deadlock, lock wait, interrupted, read-only: Unavailable, retried by the
// caller), anything else (Internal).
#pragma once

#include <string>

namespace rowcache {

// Server error numbers the store names (mysqld_error.h has most; these are
// spelled here so that a reader need not look them up).
inline constexpr unsigned kErrBadNull = 1048;          // ER_BAD_NULL_ERROR: column cannot be null
inline constexpr unsigned kErrLockWaitTimeout = 1205;  // ER_LOCK_WAIT_TIMEOUT
inline constexpr unsigned kErrReadOnly = 1290;         // ER_OPTION_PREVENTS_STATEMENT (--read-only)
inline constexpr unsigned kErrTruncatedValue =
    1366;  // ER_TRUNCATED_WRONG_VALUE_FOR_FIELD: incorrect string value
inline constexpr unsigned kErrReadOnlyTransaction = 1836;  // ER_READ_ONLY_MODE
inline constexpr unsigned kErrSslConnection = 2026;        // CR_SSL_CONNECTION_ERROR

enum class MysqlErrorClass { kConnection, kData, kTransient, kOther };

MysqlErrorClass ClassOf(unsigned err);
bool IsConnectionError(unsigned err);

// "field 'hero': too long for the column" from a data error's message.
std::string DataErrorMessage(unsigned err, const std::string& msg);

}  // namespace rowcache
