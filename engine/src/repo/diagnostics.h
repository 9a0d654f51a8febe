// Problems found while loading a repo, collected so one run reports all of them.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "featureforge/common/status.h"

namespace featureforge::repo {

struct Problem {
  std::string file;     // relative to the repo root
  int line = 0;         // 1-based; 0 when unknown
  std::string subject;  // "entity 'driver'", "feature_store 'proj'"; may be empty
  std::string field;    // "schema[2].dtype"; may be empty
  std::string message;
  bool not_supported = false;  // a feature that does not exist yet, not a user mistake
  // "<file>:<line>: <subject>: <field>: <message>", empty parts left out.
  std::string ToString() const;
};

class Diagnostics {
 public:
  void Add(Problem problem) { problems_.push_back(std::move(problem)); }
  bool empty() const { return problems_.empty(); }
  const std::vector<Problem>& problems() const { return problems_; }
  // OK when empty; otherwise InvalidArgument (NotSupported when every problem is one) with one
  // line per problem: feature_store.yaml first, then ordered by file and line.
  Status ToStatus() const;

 private:
  std::vector<Problem> problems_;
};

// Levenshtein distance, for "did you mean" hints.
size_t EditDistance(std::string_view a, std::string_view b);
// " (did you mean 'x'?)" when one candidate is close to `word`, else "".
std::string DidYouMean(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace featureforge::repo
