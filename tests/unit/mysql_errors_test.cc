#include <errmsg.h>
#include <gtest/gtest.h>
#include <mysqld_error.h>

#include "store/mysql/errors.h"

namespace rowcache {
namespace {

TEST(MysqlErrors, EveryNumberHasAClass) {
  EXPECT_EQ(ClassOf(CR_SERVER_LOST), MysqlErrorClass::kConnection);
  EXPECT_EQ(ClassOf(ER_CONNECTION_KILLED), MysqlErrorClass::kConnection);
  EXPECT_EQ(ClassOf(kErrSslConnection), MysqlErrorClass::kConnection);
  EXPECT_EQ(ClassOf(ER_DATA_TOO_LONG), MysqlErrorClass::kData);
  EXPECT_EQ(ClassOf(kErrBadNull), MysqlErrorClass::kData);
  EXPECT_EQ(ClassOf(ER_LOCK_DEADLOCK), MysqlErrorClass::kTransient);
  EXPECT_EQ(ClassOf(kErrReadOnly), MysqlErrorClass::kTransient);
  EXPECT_EQ(ClassOf(ER_NO_SUCH_TABLE), MysqlErrorClass::kOther);
}

TEST(MysqlErrors, DataErrorsNameTheFieldOnly) {
  EXPECT_EQ(DataErrorMessage(ER_DATA_TOO_LONG, "Data too long for column 'hero' at row 1"),
            "field 'hero': too long for the column");
  EXPECT_EQ(
      DataErrorMessage(ER_WARN_DATA_OUT_OF_RANGE, "Out of range value for column `db`.`t`.`xp` at row 1"),
      "field 'xp': out of range for the column");
  EXPECT_EQ(DataErrorMessage(kErrBadNull, "Column 'name' cannot be null"), "field 'name': must not be null");
  EXPECT_EQ(
      DataErrorMessage(kErrTruncatedValue, "Incorrect string value: '\\xF0' for column 'color' at row 1"),
      "field 'color': not a valid value for the column");
  EXPECT_EQ(DataErrorMessage(ER_DATA_TOO_LONG, "something else"), "a value: too long for the column");
}

}  // namespace
}  // namespace rowcache
