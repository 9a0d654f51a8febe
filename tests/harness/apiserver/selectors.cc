#include "selectors.h"

#include <algorithm>
#include <cctype>

namespace ffharness {
namespace {

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

// Splits on commas that are not inside parentheses.
std::vector<std::string> SplitTopLevel(const std::string& text) {
  std::vector<std::string> parts;
  std::string current;
  int depth = 0;
  for (char c : text) {
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (c == ',' && depth == 0) {
      parts.push_back(current);
      current.clear();
    } else {
      current.push_back(c);
    }
  }
  parts.push_back(current);
  return parts;
}

std::vector<std::string> SplitPath(const std::string& path) {
  std::vector<std::string> out;
  std::string current;
  int depth = 0;
  for (char c : path) {
    if (c == '[') ++depth;
    if (c == ']') --depth;
    if (c == '.' && depth == 0) {
      if (!current.empty()) out.push_back(current);
      current.clear();
    } else {
      current.push_back(c);
    }
  }
  if (!current.empty()) out.push_back(current);
  return out;
}

std::string ScalarString(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "";
  return v.dump();
}

}  // namespace

std::optional<LabelSelector> LabelSelector::Parse(const std::string& text, std::string* error) {
  LabelSelector selector;
  if (Trim(text).empty()) return selector;
  for (const std::string& raw : SplitTopLevel(text)) {
    std::string part = Trim(raw);
    if (part.empty()) {
      *error = "invalid label selector \"" + text + "\": empty requirement";
      return std::nullopt;
    }
    LabelRequirement req;
    auto set_pos = [&](const std::string& word) -> size_t {
      size_t pos = part.find(" " + word + " ");
      if (pos == std::string::npos) pos = part.find(" " + word + "(");
      return pos;
    };
    size_t in_pos = set_pos("notin");
    bool notin = in_pos != std::string::npos;
    if (!notin) in_pos = set_pos("in");
    if (in_pos != std::string::npos) {
      req.key = Trim(part.substr(0, in_pos));
      req.op = notin ? LabelRequirement::Op::kNotIn : LabelRequirement::Op::kIn;
      size_t open = part.find('(', in_pos), close = part.rfind(')');
      if (open == std::string::npos || close == std::string::npos || close < open) {
        *error = "invalid label selector \"" + text + "\": expected (values) after in/notin";
        return std::nullopt;
      }
      std::string inner = part.substr(open + 1, close - open - 1);
      size_t start = 0;
      while (true) {
        size_t comma = inner.find(',', start);
        std::string value = Trim(inner.substr(start, comma - start));
        if (!value.empty()) req.values.push_back(value);
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
    } else if (part.find("!=") != std::string::npos) {
      size_t pos = part.find("!=");
      req.key = Trim(part.substr(0, pos));
      req.op = LabelRequirement::Op::kNotEquals;
      req.values.push_back(Trim(part.substr(pos + 2)));
    } else if (part.find('=') != std::string::npos) {
      size_t pos = part.find('=');
      size_t len = part.compare(pos, 2, "==") == 0 ? 2 : 1;
      req.key = Trim(part.substr(0, pos));
      req.op = LabelRequirement::Op::kEquals;
      req.values.push_back(Trim(part.substr(pos + len)));
    } else if (part[0] == '!') {
      req.key = Trim(part.substr(1));
      req.op = LabelRequirement::Op::kDoesNotExist;
    } else {
      req.key = part;
      req.op = LabelRequirement::Op::kExists;
    }
    if (req.key.empty() || req.key.find_first_of(" ()=!") != std::string::npos) {
      *error = "invalid label selector \"" + text + "\": bad key in \"" + part + "\"";
      return std::nullopt;
    }
    selector.requirements_.push_back(std::move(req));
  }
  return selector;
}

std::optional<LabelSelector> LabelSelector::FromObject(const json& selector, std::string* error) {
  LabelSelector out;
  if (!selector.is_object()) return out;
  const json match_labels = selector.value("matchLabels", json::object());
  for (const auto& [k, v] : match_labels.items()) {
    out.requirements_.push_back({k, LabelRequirement::Op::kEquals, {ScalarString(v)}});
  }
  for (const auto& expr : selector.value("matchExpressions", json::array())) {
    LabelRequirement req;
    req.key = expr.value("key", "");
    std::string op = expr.value("operator", "");
    if (op == "In")
      req.op = LabelRequirement::Op::kIn;
    else if (op == "NotIn")
      req.op = LabelRequirement::Op::kNotIn;
    else if (op == "Exists")
      req.op = LabelRequirement::Op::kExists;
    else if (op == "DoesNotExist")
      req.op = LabelRequirement::Op::kDoesNotExist;
    else {
      *error = "selector.matchExpressions.operator: Unsupported value: \"" + op + "\"";
      return std::nullopt;
    }
    req.values = expr.value("values", std::vector<std::string>{});
    out.requirements_.push_back(std::move(req));
  }
  return out;
}

bool LabelSelector::Matches(const json& labels) const {
  for (const auto& req : requirements_) {
    bool has = labels.is_object() && labels.contains(req.key);
    std::string value = has ? ScalarString(labels[req.key]) : "";
    auto in_values = [&] {
      return std::find(req.values.begin(), req.values.end(), value) != req.values.end();
    };
    switch (req.op) {
      case LabelRequirement::Op::kEquals:
        if (!has || value != req.values[0]) return false;
        break;
      case LabelRequirement::Op::kNotEquals:
        if (has && value == req.values[0]) return false;
        break;
      case LabelRequirement::Op::kIn:
        if (!has || !in_values()) return false;
        break;
      case LabelRequirement::Op::kNotIn:
        if (has && in_values()) return false;
        break;
      case LabelRequirement::Op::kExists:
        if (!has) return false;
        break;
      case LabelRequirement::Op::kDoesNotExist:
        if (has) return false;
        break;
    }
  }
  return true;
}

std::string LabelSelector::ToString() const {
  std::string out;
  for (const auto& req : requirements_) {
    if (!out.empty()) out += ",";
    auto joined = [&] {
      std::string s;
      for (size_t i = 0; i < req.values.size(); ++i) s += (i ? "," : "") + req.values[i];
      return s;
    };
    switch (req.op) {
      case LabelRequirement::Op::kEquals:
        out += req.key + "=" + req.values[0];
        break;
      case LabelRequirement::Op::kNotEquals:
        out += req.key + "!=" + req.values[0];
        break;
      case LabelRequirement::Op::kIn:
        out += req.key + " in (" + joined() + ")";
        break;
      case LabelRequirement::Op::kNotIn:
        out += req.key + " notin (" + joined() + ")";
        break;
      case LabelRequirement::Op::kExists:
        out += req.key;
        break;
      case LabelRequirement::Op::kDoesNotExist:
        out += "!" + req.key;
        break;
    }
  }
  return out;
}

std::optional<FieldSelector> FieldSelector::Parse(const std::string& text, std::string* error) {
  FieldSelector selector;
  if (Trim(text).empty()) return selector;
  for (const std::string& raw : SplitTopLevel(text)) {
    std::string part = Trim(raw);
    Term term;
    size_t pos = part.find("!=");
    if (pos != std::string::npos) {
      term.negate = true;
      term.path = Trim(part.substr(0, pos));
      term.value = Trim(part.substr(pos + 2));
    } else if ((pos = part.find('=')) != std::string::npos) {
      size_t len = part.compare(pos, 2, "==") == 0 ? 2 : 1;
      term.path = Trim(part.substr(0, pos));
      term.value = Trim(part.substr(pos + len));
    } else {
      *error =
          "invalid field selector \"" + text + "\": \"" + part + "\" has no operator (=, ==, !=)";
      return std::nullopt;
    }
    if (term.path.empty()) {
      *error = "invalid field selector \"" + text + "\": empty field name";
      return std::nullopt;
    }
    selector.terms_.push_back(std::move(term));
  }
  return selector;
}

bool FieldSelector::Matches(const json& object) const {
  for (const auto& term : terms_) {
    bool equal = FieldValueAsString(object, term.path) == term.value;
    if (equal == term.negate) return false;
  }
  return true;
}

std::optional<std::string> FieldSelector::EqualsValue(const std::string& path) const {
  for (const auto& term : terms_) {
    if (term.path == path && !term.negate) return term.value;
  }
  return std::nullopt;
}

std::string FieldValueAsString(const json& object, const std::string& path) {
  const json* cur = &object;
  for (const auto& seg : SplitPath(path)) {
    if (!cur->is_object() || !cur->contains(seg)) return "";
    cur = &(*cur)[seg];
  }
  return ScalarString(*cur);
}

std::vector<json> EvaluateJsonPath(const json& object, const std::string& raw_path) {
  std::string path = Trim(raw_path);
  if (path.size() >= 2 && path.front() == '{' && path.back() == '}')
    path = path.substr(1, path.size() - 2);
  if (!path.empty() && path[0] == '$') path = path.substr(1);
  std::vector<const json*> current{&object};
  for (const std::string& seg : SplitPath(path)) {
    std::string name = seg;
    std::string index;
    size_t bracket = seg.find('[');
    if (bracket != std::string::npos) {
      name = seg.substr(0, bracket);
      index = seg.substr(bracket + 1, seg.rfind(']') - bracket - 1);
    }
    std::vector<const json*> next;
    for (const json* node : current) {
      const json* base = node;
      if (!name.empty()) {
        if (!node->is_object() || !node->contains(name)) continue;
        base = &(*node)[name];
      }
      if (bracket == std::string::npos) {
        next.push_back(base);
        continue;
      }
      if (!base->is_array()) continue;
      if (index == "*") {
        for (const auto& item : *base) next.push_back(&item);
      } else if (index.rfind("?(", 0) == 0) {
        // ?(@.key=="value") or ?(@.key==value)
        std::string cond = index.substr(2, index.size() - 3);
        size_t eq = cond.find("==");
        if (eq == std::string::npos) continue;
        std::string key = Trim(cond.substr(0, eq));
        std::string want = Trim(cond.substr(eq + 2));
        if (want.size() >= 2 && (want.front() == '"' || want.front() == '\''))
          want = want.substr(1, want.size() - 2);
        if (key.rfind("@.", 0) == 0) key = key.substr(2);
        for (const auto& item : *base) {
          if (FieldValueAsString(item, key) == want) next.push_back(&item);
        }
      } else {
        try {
          long i = std::stol(index);
          if (i < 0) i += static_cast<long>(base->size());
          if (i >= 0 && static_cast<size_t>(i) < base->size())
            next.push_back(&(*base)[static_cast<size_t>(i)]);
        } catch (const std::exception&) {
        }
      }
    }
    current = std::move(next);
  }
  std::vector<json> out;
  for (const json* node : current) out.push_back(*node);
  return out;
}

const json* FindDottedPath(const json& object, const std::string& path) {
  const json* cur = &object;
  for (const auto& seg : SplitPath(path)) {
    if (!cur->is_object() || !cur->contains(seg)) return nullptr;
    cur = &(*cur)[seg];
  }
  return cur;
}

void SetDottedPath(json& object, const std::string& path, const json& value) {
  json* cur = &object;
  for (const auto& seg : SplitPath(path)) {
    if (!cur->is_object()) *cur = json::object();
    cur = &(*cur)[seg];
  }
  *cur = value;
}

}  // namespace ffharness
