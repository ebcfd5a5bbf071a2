-- The any-table test schema (issue 21) for SQLite: any_table_schema.sql with
-- the types SQLite declares, the same tables and column order. Left out:
-- BIGINT UNSIGNED (SQLite holds no integer above 2^63 - 1), ENUM and SET
-- (SQLite's grammar takes no quoted type arguments), character sets (SQLite
-- text is Unicode). DECIMAL is kept as SQLite's NUMERIC affinity stores it;
-- the key is SQLite's auto-increment rowid alias.
CREATE TABLE types_auto (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  i8 TINYINT NOT NULL DEFAULT 0,
  u8 TINYINT UNSIGNED NULL,
  flag TINYINT(1) NOT NULL DEFAULT 1,
  i16 SMALLINT NULL,
  i24 MEDIUMINT NULL,
  i32 INT NULL,
  u32 INT UNSIGNED NULL,
  i64 BIGINT NOT NULL,
  yr YEAR NULL,
  price DECIMAL(12,2) NOT NULL DEFAULT 0.00,
  wide DECIMAL(65,30) NULL,
  f32 FLOAT NULL,
  f64 DOUBLE NULL,
  code CHAR(5) NOT NULL DEFAULT '',
  label VARCHAR(20) NULL,
  body TEXT NULL,
  essay MEDIUMTEXT NULL,
  bin4 BINARY(4) NULL,
  vbin VARBINARY(16) NULL,
  blob_col BLOB NULL,
  day DATE NULL,
  dt DATETIME NULL,
  dt3 DATETIME(3) NULL,
  tm2 TIME(2) NULL,
  ts6 TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  bit1 BIT(1) NULL,
  bit12 BIT(12) NULL,
  doc JSON NULL,
  price_x2 DECIMAL(13,2) GENERATED ALWAYS AS (price * 2) STORED,
  label_len INT GENERATED ALWAYS AS (length(label)) VIRTUAL
);

CREATE TABLE orders (
  tenant INT NOT NULL,
  code VARCHAR(16) NOT NULL,
  total DECIMAL(12,2) NOT NULL,
  placed DATETIME(3) NULL,
  PRIMARY KEY (tenant, code)
);
