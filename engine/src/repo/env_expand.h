// ${VAR} references in feature_store.yaml values, expanded from the environment at load time.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "featureforge/repo/loader.h"

namespace featureforge::repo {

struct ExpandedValue {
  std::string text;
  // (value, "${NAME}") for every non-empty value taken from the environment, so messages can
  // show the reference instead of the value.
  std::vector<std::pair<std::string, std::string>> substitutions;
  // References left as written because their variable is unset (LoadOptions::unset_env).
  bool deferred = false;
};

// Expands `${NAME}` (NAME: letters, digits, _; not starting with a digit) and `${NAME:-default}`
// (default when NAME is unset or empty, as in the shell); `$${` is a literal `${`; any other `$`
// stays as written. An unset variable without default, `${` without `}` or a bad name is an
// error message naming the variable (never its value); with `keep_unset` an unset variable's
// reference is kept as written instead and `deferred` is set.
Result<ExpandedValue> ExpandEnvReferences(std::string_view text, const EnvLookup& lookup,
                                          bool keep_unset);

// The process environment (getenv).
std::optional<std::string> ProcessEnv(const std::string& name);

// `text` with every substituted value replaced by its reference, longest values first.
std::string RedactSubstitutions(std::string text,
                                const std::vector<std::pair<std::string, std::string>>& subs);

}  // namespace featureforge::repo
