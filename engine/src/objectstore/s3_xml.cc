#include "s3_xml.h"

#include <cstdlib>

namespace featureforge::objectstore_internal {
namespace {

void AppendUtf8(std::string* out, unsigned long cp) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

struct OpenTag {
  size_t content;  // index just after the opening tag's '>'
  bool empty;      // <tag/>
};

// Finds "<tag>", "<tag ...>" or "<tag/>" (not "<tagX>") at or after `from`.
std::optional<OpenTag> FindOpen(std::string_view xml, std::string_view tag, size_t from) {
  while (true) {
    size_t at = xml.find('<', from);
    if (at == std::string_view::npos) return std::nullopt;
    size_t after_name = at + 1 + tag.size();
    if (after_name < xml.size() && xml.compare(at + 1, tag.size(), tag) == 0) {
      char next = xml[after_name];
      if (next == '>' || next == ' ' || next == '/') {
        size_t close = xml.find('>', at);
        if (close == std::string_view::npos) return std::nullopt;
        return OpenTag{close + 1, xml[close - 1] == '/'};
      }
    }
    from = at + 1;
  }
}

}  // namespace

std::string XmlUnescape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '&') {
      out.push_back(text[i]);
      continue;
    }
    size_t end = text.find(';', i);
    if (end == std::string_view::npos) {
      out.push_back('&');
      continue;
    }
    std::string_view entity = text.substr(i + 1, end - i - 1);
    if (entity == "amp") {
      out.push_back('&');
    } else if (entity == "lt") {
      out.push_back('<');
    } else if (entity == "gt") {
      out.push_back('>');
    } else if (entity == "quot") {
      out.push_back('"');
    } else if (entity == "apos") {
      out.push_back('\'');
    } else if (entity.size() > 1 && entity[0] == '#') {
      std::string digits(entity.substr(1));
      bool hex = !digits.empty() && (digits[0] == 'x' || digits[0] == 'X');
      unsigned long cp = std::strtoul(digits.c_str() + (hex ? 1 : 0), nullptr, hex ? 16 : 10);
      AppendUtf8(&out, cp);
    } else {
      out.append(text.substr(i, end - i + 1));
    }
    i = end;
  }
  return out;
}

std::string XmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::vector<std::string_view> XmlElements(std::string_view xml, std::string_view tag) {
  std::vector<std::string_view> out;
  std::string close = "</" + std::string(tag) + ">";
  size_t from = 0;
  while (true) {
    std::optional<OpenTag> open = FindOpen(xml, tag, from);
    if (!open) break;
    if (open->empty) {
      out.push_back(std::string_view());
      from = open->content;
      continue;
    }
    size_t end = xml.find(close, open->content);
    if (end == std::string_view::npos) break;
    out.push_back(xml.substr(open->content, end - open->content));
    from = end + close.size();
  }
  return out;
}

std::optional<std::string> XmlElementText(std::string_view xml, std::string_view tag, size_t* pos) {
  size_t from = pos != nullptr ? *pos : 0;
  std::optional<OpenTag> open = FindOpen(xml, tag, from);
  if (!open) return std::nullopt;
  if (open->empty) {
    if (pos != nullptr) *pos = open->content;
    return std::string();
  }
  std::string close = "</" + std::string(tag) + ">";
  size_t end = xml.find(close, open->content);
  if (end == std::string_view::npos) return std::nullopt;
  if (pos != nullptr) *pos = end + close.size();
  return XmlUnescape(xml.substr(open->content, end - open->content));
}

}  // namespace featureforge::objectstore_internal
