#include "featureforge/repo/model.h"

namespace featureforge::repo {
namespace {
template <typename T>
const T* FindByName(const std::vector<T>& items, const std::string& name) {
  for (const auto& item : items) {
    if (item.name == name) return &item;
  }
  return nullptr;
}
}  // namespace

const Entity* Repo::FindEntity(const std::string& name) const { return FindByName(entities, name); }
const DataSource* Repo::FindSource(const std::string& name) const {
  return FindByName(sources, name);
}
const FeatureView* Repo::FindFeatureView(const std::string& name) const {
  return FindByName(feature_views, name);
}
const FeatureService* Repo::FindFeatureService(const std::string& name) const {
  return FindByName(feature_services, name);
}

std::vector<std::string> Repo::JoinKeys(const FeatureView& view) const {
  std::vector<std::string> keys;
  for (const auto& entity_name : view.entities) {
    if (const Entity* e = FindEntity(entity_name)) {
      keys.insert(keys.end(), e->join_keys.begin(), e->join_keys.end());
    }
  }
  return keys;
}

std::string Repo::ResolvePath(const std::string& path) const {
  if (path.empty() || path[0] == '/' || path.find("://") != std::string::npos) return path;
  return root + "/" + path;
}

}  // namespace featureforge::repo
