-- The any-table test schema (issue 21) for MySQL / MariaDB: every column type
-- of the JSON mapping, in two tables -- types_auto, with an AUTO_INCREMENT key,
-- and orders, with a composite key of an integer and a string. Used by the
-- schema discovery tests (tests/integration/schema_discovery_test.cc) and by
-- the end-to-end tests of the any-table work; keep the column order stable.
-- The SQLite twin is any_table_schema_sqlite.sql.
CREATE TABLE types_auto (
  id INT NOT NULL AUTO_INCREMENT,
  i8 TINYINT NOT NULL DEFAULT 0,
  u8 TINYINT UNSIGNED NULL,
  flag TINYINT(1) NOT NULL DEFAULT 1,
  i16 SMALLINT NULL,
  i24 MEDIUMINT NULL,
  i32 INT NULL,
  u32 INT UNSIGNED NULL,
  i64 BIGINT NOT NULL,
  u64 BIGINT UNSIGNED NULL,
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
  ts6 TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  bit1 BIT(1) NULL,
  bit12 BIT(12) NULL,
  mood ENUM('happy','sad','it''s complicated') NOT NULL DEFAULT 'happy',
  tags SET('red','green','blue') NULL,
  doc JSON NULL,
  legacy VARCHAR(10) CHARACTER SET latin1 COLLATE latin1_swedish_ci NULL,
  price_x2 DECIMAL(13,2) AS (price * 2) STORED,
  label_len INT AS (CHAR_LENGTH(label)) VIRTUAL,
  PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE orders (
  tenant INT NOT NULL,
  code VARCHAR(16) NOT NULL,
  total DECIMAL(12,2) NOT NULL,
  placed DATETIME(3) NULL,
  PRIMARY KEY (tenant, code)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
