// LOAD DATA LOCAL INFILE fed from memory: the rows of one bulk load as
// tab-separated text (FIELDS ESCAPED BY '\\'), handed to the server by
// Connector/C's local-infile callbacks instead of a file.
//
// Contract: only the bulk loader's own connection turns local infile on
// (SetLocalInfile), and its handler (InfileInit & co., user data an
// InfileState) answers a file request only while that connection's own LOAD
// DATA statement runs (InfileState::active set), under the one name it asked
// for (kInfileName), from memory; any other request is refused without
// touching the file system, and InfileError names the refused file.
#pragma once

#include <mysql.h>

#include <cstddef>
#include <span>
#include <string>

#include "rowcache/row.h"

namespace rowcache {

// The file name our LOAD DATA LOCAL INFILE statement asks for; the only one
// the client will answer a request for (from memory, never from disk).
constexpr const char* kInfileName = "rowcache-batch";

struct InfileBuffer;

// A connection's LOAD DATA LOCAL state, the user data of its infile handler.
struct InfileState {
  InfileBuffer* active = nullptr;  // set only while our own LOAD DATA statement runs
  std::string refused;             // the file name last refused
};

// The rows being sent, and how far they are.
struct InfileBuffer {
  std::span<const Row> rows;
  size_t next = 0;      // next row to serialize
  std::string pending;  // serialized text not yet handed over
  size_t pos = 0;       // read position in pending
};

int InfileInit(void** ptr, const char* filename, void* userdata);
int InfileRead(void* ptr, char* buf, unsigned int len);
void InfileEnd(void*);
int InfileError(void* ptr, char* msg, unsigned int len);

// Lets the client answer the server's LOCAL INFILE requests (on) or not (off).
// Connector/C checks the flag when a request arrives, not only at connect.
void SetLocalInfile(MYSQL* m, bool on);

}  // namespace rowcache
