#include "featureforge/k8s/watch_decoder.h"

namespace featureforge::k8s {

Status WatchDecoder::Feed(std::string_view chunk, std::vector<WatchEvent>* out) {
  buffer_.append(chunk.data(), chunk.size());
  size_t consumed = 0;  // bytes before this offset belong to emitted objects or whitespace
  for (; scan_ < buffer_.size(); ++scan_) {
    char c = buffer_[scan_];
    if (depth_ == 0) {
      if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
        consumed = scan_ + 1;
        continue;
      }
      if (c != '{') {
        return Status::Corruption("watch stream: expected '{' at byte " + std::to_string(scan_) +
                                  ", got '" + std::string(1, c) + "'");
      }
      start_ = scan_;
      depth_ = 1;
      continue;
    }
    if (in_string_) {
      if (escaped_)
        escaped_ = false;
      else if (c == '\\')
        escaped_ = true;
      else if (c == '"')
        in_string_ = false;
      continue;
    }
    if (c == '"')
      in_string_ = true;
    else if (c == '{' || c == '[')
      ++depth_;
    else if (c == '}' || c == ']')
      --depth_;
    if (depth_ != 0) continue;
    std::string_view text(buffer_.data() + start_, scan_ + 1 - start_);
    nlohmann::json event = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (event.is_discarded() || !event.is_object() || !event.contains("type") ||
        !event["type"].is_string() || !event.contains("object")) {
      return Status::Corruption("watch stream: malformed event: " +
                                std::string(text.substr(0, 200)));
    }
    out->push_back(WatchEvent{event["type"].get<std::string>(), std::move(event["object"])});
    consumed = scan_ + 1;
  }
  if (depth_ > 0) consumed = start_;
  buffer_.erase(0, consumed);
  scan_ -= consumed;
  if (depth_ > 0) start_ -= consumed;
  return Status::OK();
}

Status WatchDecoder::Finish() const {
  if (depth_ > 0 || !buffer_.empty()) {
    return Status::Unavailable("watch stream cut mid-object (" + std::to_string(buffer_.size()) +
                               " bytes of an unfinished event)");
  }
  return Status::OK();
}

}  // namespace featureforge::k8s
