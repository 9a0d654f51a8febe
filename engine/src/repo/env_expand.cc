#include "env_expand.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace featureforge::repo {
namespace {

bool IsNameStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool IsNameChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

}  // namespace

std::optional<std::string> ProcessEnv(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

Result<ExpandedValue> ExpandEnvReferences(std::string_view text, const EnvLookup& lookup,
                                          bool keep_unset) {
  ExpandedValue out;
  size_t i = 0;
  while (i < text.size()) {
    if (text.compare(i, 3, "$${") == 0) {
      out.text += "${";
      i += 3;
      continue;
    }
    if (text.compare(i, 2, "${") != 0) {
      out.text += text[i++];
      continue;
    }
    const size_t close = text.find('}', i + 2);
    if (close == std::string_view::npos) {
      return Status::InvalidArgument("'${' without a closing '}' (write $${ for a literal ${)");
    }
    const std::string_view inner = text.substr(i + 2, close - i - 2);
    const size_t dash = inner.find(":-");
    const std::string name(inner.substr(0, dash));
    if (name.empty() || !IsNameStart(name[0]) ||
        !std::all_of(name.begin(), name.end(), IsNameChar)) {
      return Status::InvalidArgument("'${" + std::string(inner.substr(0, dash)) +
                                     "}' is not a variable reference (names are letters, digits "
                                     "and _; write $${ for a literal ${)");
    }
    const std::string reference(text.substr(i, close - i + 1));
    std::optional<std::string> value = lookup ? lookup(name) : std::nullopt;
    if (dash != std::string_view::npos && (!value || value->empty())) {
      out.text += inner.substr(dash + 2);  // the default is part of the file, not a secret
    } else if (value) {
      out.text += *value;
      if (!value->empty()) out.substitutions.emplace_back(*value, reference);
    } else if (keep_unset) {
      out.text += reference;
      out.deferred = true;
    } else {
      return Status::InvalidArgument("environment variable " + name +
                                     " is not set (set it, or write ${" + name +
                                     ":-default} for a default)");
    }
    i = close + 1;
  }
  return out;
}

std::string RedactSubstitutions(std::string text,
                                const std::vector<std::pair<std::string, std::string>>& subs) {
  std::vector<std::pair<std::string, std::string>> sorted = subs;
  std::sort(sorted.begin(), sorted.end(),
            [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
  for (const auto& [value, reference] : sorted) {
    if (value.empty()) continue;
    for (size_t pos = text.find(value); pos != std::string::npos;
         pos = text.find(value, pos + reference.size())) {
      text.replace(pos, value.size(), reference);
    }
  }
  return text;
}

}  // namespace featureforge::repo
