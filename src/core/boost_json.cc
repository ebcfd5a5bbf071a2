// The one translation unit that compiles Boost.JSON's implementation
// (header-only mode: no libboost_json needed).
#include <boost/json/src.hpp>
