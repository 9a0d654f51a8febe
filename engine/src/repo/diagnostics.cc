#include "diagnostics.h"

#include <algorithm>
#include <cctype>
#include <functional>
#include <tuple>

namespace featureforge::repo {
namespace {
std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}
}  // namespace

std::string Problem::ToString() const {
  std::string out = file;
  if (line > 0) out += ":" + std::to_string(line);
  out += ": ";
  if (!subject.empty()) out += subject + ": ";
  if (!field.empty()) out += field + ": ";
  if (not_supported) out += "not supported: ";
  out += message;
  return out;
}

Status Diagnostics::ToStatus() const {
  if (problems_.empty()) return Status::OK();
  std::vector<const Problem*> sorted;
  for (const auto& p : problems_) sorted.push_back(&p);
  // feature_store.yaml first (its problems often explain the others), then by file and line.
  auto key = [](const Problem* p) {
    return std::make_tuple(p->file != "feature_store.yaml", std::cref(p->file), p->line);
  };
  std::stable_sort(sorted.begin(), sorted.end(),
                   [&](const Problem* a, const Problem* b) { return key(a) < key(b); });
  std::string message;
  bool all_not_supported = true;
  for (const Problem* p : sorted) {
    if (!message.empty()) message += "\n";
    message += p->ToString();
    all_not_supported = all_not_supported && p->not_supported;
  }
  if (all_not_supported) return Status(StatusCode::kNotSupported, message);
  return Status::InvalidArgument(message);
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      size_t substitution = diagonal + (a[i - 1] == b[j - 1] ? 0 : 1);
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, substitution});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string DidYouMean(std::string_view word, const std::vector<std::string>& candidates) {
  // Close means at most a third of the word changed (at least one edit allowed).
  size_t best_distance = std::max<size_t>(1, word.size() / 3) + 1;
  const std::string* best = nullptr;
  for (const auto& candidate : candidates) {
    const std::string a = Lower(word), b = Lower(candidate);
    size_t d = EditDistance(a, b);
    // A word that is a prefix of a candidate ("rank" for "ranking") is a close miss too.
    const std::string& shorter = a.size() < b.size() ? a : b;
    const std::string& longer = a.size() < b.size() ? b : a;
    if (shorter.size() >= 3 && longer.compare(0, shorter.size(), shorter) == 0) d = 1;
    if (d < best_distance) {
      best_distance = d;
      best = &candidate;
    }
  }
  return best ? " (did you mean '" + *best + "'?)" : "";
}

}  // namespace featureforge::repo
