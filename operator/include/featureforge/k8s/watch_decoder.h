// Splits a watch response body into events. The API server writes one JSON object per event
// (newline-delimited, but the decoder does not rely on newlines); chunks may end anywhere,
// including inside a string or mid-object.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "featureforge/common/status.h"

namespace featureforge::k8s {

struct WatchEvent {
  std::string type;  // ADDED, MODIFIED, DELETED, BOOKMARK, ERROR
  nlohmann::json object;
};

class WatchDecoder {
 public:
  // Appends a chunk and moves every complete event into `out`. Fails on an object that does not
  // parse or lacks "type"/"object"; the decoder is then unusable.
  Status Feed(std::string_view chunk, std::vector<WatchEvent>* out);
  // Call when the stream ended: fails when a partial object is pending (a stream cut mid-object).
  Status Finish() const;
  size_t pending_bytes() const { return buffer_.size(); }

 private:
  std::string buffer_;
  size_t scan_ = 0;   // how far buffer_ has been scanned
  size_t start_ = 0;  // where the current object starts (valid when depth_ > 0)
  int depth_ = 0;
  bool in_string_ = false;
  bool escaped_ = false;
};

}  // namespace featureforge::k8s
