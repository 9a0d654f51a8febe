// Internal: the little XML S3 speaks (flat elements, no attributes we need, no namespaces we
// care about). Enough for ListObjectsV2, multipart replies and <Error> bodies.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace featureforge::objectstore_internal {

// Text of the first <tag>...</tag> at or after `*pos`, unescaped; advances `*pos` past it.
std::optional<std::string> XmlElementText(std::string_view xml, std::string_view tag,
                                          size_t* pos = nullptr);
// The raw inner XML of every <tag>...</tag> (not nested in itself), in order.
std::vector<std::string_view> XmlElements(std::string_view xml, std::string_view tag);
std::string XmlUnescape(std::string_view text);
std::string XmlEscape(std::string_view text);

}  // namespace featureforge::objectstore_internal
