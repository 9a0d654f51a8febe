// URI helpers and the scheme registry behind OpenObjectStore.
#include "featureforge/objectstore/object_store.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <mutex>

#include "featureforge/objectstore/local_store.h"
#include "featureforge/objectstore/memory_store.h"
#include "featureforge/objectstore/s3_store.h"

namespace featureforge {
namespace {

std::string Lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// "scheme://" when the text before "://" looks like a URI scheme (letters, digits, + - .).
size_t SchemeEnd(std::string_view uri) {
  size_t pos = uri.find("://");
  if (pos == std::string_view::npos || pos == 0) return std::string_view::npos;
  for (size_t i = 0; i < pos; ++i) {
    unsigned char c = static_cast<unsigned char>(uri[i]);
    if (!std::isalnum(c) && c != '+' && c != '-' && c != '.') return std::string_view::npos;
  }
  if (!std::isalpha(static_cast<unsigned char>(uri[0]))) return std::string_view::npos;
  return pos;
}

struct Registry {
  std::mutex mu;
  std::map<std::string, ObjectStoreFactory> factories;
};

Result<std::shared_ptr<ObjectStore>> OpenLocal(const std::string&) {
  static const auto store = std::make_shared<LocalObjectStore>();
  return std::shared_ptr<ObjectStore>(store);
}

Result<std::shared_ptr<ObjectStore>> OpenMemory(const std::string&) {
  return std::shared_ptr<ObjectStore>(SharedMemoryObjectStore());
}

Result<std::shared_ptr<ObjectStore>> OpenS3(const std::string& uri) {
  auto options = S3Options::FromEnvironment();
  if (!options.ok()) return options.status().WithContext("opening " + uri);
  auto store = S3ObjectStore::Create(std::move(options).value());
  if (!store.ok()) return store.status().WithContext("opening " + uri);
  return std::shared_ptr<ObjectStore>(std::move(store).value());
}

Registry& GlobalRegistry() {
  static Registry* registry = [] {
    auto* r = new Registry();
    r->factories[""] = OpenLocal;
    r->factories["file"] = OpenLocal;
    r->factories["mem"] = OpenMemory;
    r->factories["s3"] = OpenS3;
    return r;
  }();
  return *registry;
}

}  // namespace

Result<VersionedObject> ObjectStore::GetVersioned(const std::string& uri) {
  return Status::NotSupported("versioned reads of " + uri + " by this object store");
}

Result<std::optional<std::string>> ObjectStore::CurrentVersion(const std::string& uri) {
  return Status::NotSupported("object versions of " + uri + " by this object store");
}

Result<std::string> ObjectStore::PutIfVersion(const std::string& uri, std::string_view,
                                              const std::string&) {
  return Status::NotSupported("conditional writes of " + uri + " by this object store");
}

Result<ObjectUri> ParseObjectUri(std::string_view uri) {
  if (uri.empty()) return Status::InvalidArgument("object URI is empty");
  size_t scheme_end = SchemeEnd(uri);
  if (scheme_end == std::string_view::npos) return ObjectUri{"", "", std::string(uri)};
  ObjectUri out;
  out.scheme = Lower(uri.substr(0, scheme_end));
  std::string_view rest = uri.substr(scheme_end + 3);
  size_t slash = rest.find('/');
  out.authority = std::string(rest.substr(0, slash));
  if (out.scheme == "file") {
    if (!out.authority.empty() && out.authority != "localhost") {
      return Status::InvalidArgument("file URI '" + std::string(uri) + "' names host '" +
                                     out.authority +
                                     "': only local files (file:///path) are supported");
    }
    if (slash == std::string_view::npos) {
      return Status::InvalidArgument("file URI '" + std::string(uri) + "' has no path");
    }
    out.authority.clear();
    out.path = std::string(rest.substr(slash));
    return out;
  }
  if (out.authority.empty()) {
    return Status::InvalidArgument("object URI '" + std::string(uri) +
                                   "' has no bucket (expected " + out.scheme + "://bucket/key)");
  }
  out.path = slash == std::string_view::npos ? "" : std::string(rest.substr(slash + 1));
  return out;
}

std::string ObjectUriScheme(std::string_view uri) {
  size_t scheme_end = SchemeEnd(uri);
  return scheme_end == std::string_view::npos ? "" : Lower(uri.substr(0, scheme_end));
}

bool IsLocalObjectUri(std::string_view uri) {
  std::string scheme = ObjectUriScheme(uri);
  return scheme.empty() || scheme == "file";
}

std::string JoinObjectUri(std::string_view prefix, std::string_view name) {
  std::string out(prefix);
  while (!name.empty() && name.front() == '/') name.remove_prefix(1);
  if (out.empty()) return std::string(name);
  if (out.back() != '/') out.push_back('/');
  out.append(name);
  return out;
}

Result<std::shared_ptr<ObjectStore>> OpenObjectStore(const std::string& uri) {
  if (uri.empty()) return Status::InvalidArgument("object URI is empty");
  std::string scheme = ObjectUriScheme(uri);
  ObjectStoreFactory factory;
  {
    Registry& registry = GlobalRegistry();
    std::lock_guard<std::mutex> lock(registry.mu);
    auto it = registry.factories.find(scheme);
    if (it != registry.factories.end()) factory = it->second;
  }
  if (!factory) {
    return Status::NotSupported("object store scheme '" + scheme + "://' in '" + uri +
                                "' (known: local paths, file://, mem://, s3://)");
  }
  return factory(uri);
}

void RegisterObjectStoreScheme(const std::string& scheme, ObjectStoreFactory factory) {
  Registry& registry = GlobalRegistry();
  std::lock_guard<std::mutex> lock(registry.mu);
  registry.factories[Lower(scheme)] = std::move(factory);
}

}  // namespace featureforge
