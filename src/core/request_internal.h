#pragma once

#include <string_view>

#include "rowcache/metrics.h"
#include "rowcache/service.h"

namespace rowcache {

// ParseRequest that also reports the request kind once REQUEST was understood
// (kInvalid before that), so failed requests are counted under their kind.
Result<Request> ParseEvent(std::string_view event_json, const ServiceOptions& opts, RequestKind* kind);

}  // namespace rowcache
