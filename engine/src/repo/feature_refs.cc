#include "featureforge/repo/feature_refs.h"

#include <algorithm>

#include "diagnostics.h"

namespace featureforge::repo {
namespace {

class ProjectionBuilder {
 public:
  explicit ProjectionBuilder(const Repo& repo) : repo_(repo) {
    for (const auto& view : repo.feature_views) view_names_.push_back(view.name);
  }

  // `features` empty = every feature of the view.
  void Add(const std::string& view_name, const std::vector<std::string>& features,
           const std::string& origin) {
    const FeatureView* view = repo_.FindFeatureView(view_name);
    if (view == nullptr) {
      errors_.push_back(origin + ": unknown feature view '" + view_name + "'" +
                        DidYouMean(view_name, view_names_));
      return;
    }
    FeatureViewProjection& projection = ProjectionFor(view_name);
    if (features.empty()) {
      for (const auto& f : view->features) AddFeature(&projection, f.name);
      return;
    }
    for (const auto& feature : features) {
      if (view->FindFeature(feature) == nullptr) {
        std::vector<std::string> names;
        for (const auto& f : view->features) names.push_back(f.name);
        errors_.push_back(origin + ": feature view '" + view_name + "' has no feature '" + feature +
                          "'" + DidYouMean(feature, names));
        continue;
      }
      AddFeature(&projection, feature);
    }
  }

  void AddError(std::string error) { errors_.push_back(std::move(error)); }

  Result<std::vector<FeatureViewProjection>> Finish() {
    if (!errors_.empty()) {
      std::string message;
      for (const auto& e : errors_) message += (message.empty() ? "" : "\n") + e;
      return Status::InvalidArgument(message);
    }
    // A view named only with unknown features would be left empty; errors cover that case.
    return std::move(projections_);
  }

 private:
  FeatureViewProjection& ProjectionFor(const std::string& view) {
    for (auto& p : projections_) {
      if (p.view == view) return p;
    }
    projections_.push_back({view, {}});
    return projections_.back();
  }
  static void AddFeature(FeatureViewProjection* projection, const std::string& feature) {
    auto& features = projection->features;
    if (std::find(features.begin(), features.end(), feature) == features.end()) {
      features.push_back(feature);
    }
  }

  const Repo& repo_;
  std::vector<std::string> view_names_;
  std::vector<FeatureViewProjection> projections_;
  std::vector<std::string> errors_;
};

}  // namespace

Result<std::vector<FeatureViewProjection>> ResolveFeatureRefs(const Repo& repo,
                                                              const std::vector<std::string>& refs,
                                                              const std::string& feature_service) {
  ProjectionBuilder builder(repo);
  if (!feature_service.empty()) {
    const FeatureService* service = repo.FindFeatureService(feature_service);
    if (service == nullptr) {
      std::vector<std::string> names;
      for (const auto& s : repo.feature_services) names.push_back(s.name);
      builder.AddError("unknown feature service '" + feature_service + "'" +
                       DidYouMean(feature_service, names));
    } else {
      for (const auto& projection : service->projections) {
        builder.Add(projection.view, projection.features,
                    "feature service '" + feature_service + "'");
      }
    }
  }
  for (const auto& ref : refs) {
    const std::string origin = "feature reference '" + ref + "'";
    size_t colon = ref.find(':');
    if (ref.empty() || colon == 0 || (colon != std::string::npos && colon + 1 == ref.size()) ||
        (colon != std::string::npos && ref.find(':', colon + 1) != std::string::npos)) {
      builder.AddError(origin + ": expected 'view:feature' or 'view'");
      continue;
    }
    if (colon == std::string::npos) {
      builder.Add(ref, {}, origin);
    } else {
      builder.Add(ref.substr(0, colon), {ref.substr(colon + 1)}, origin);
    }
  }
  if (refs.empty() && feature_service.empty()) {
    builder.AddError("no features requested: give feature references or a feature service");
  }
  return builder.Finish();
}

}  // namespace featureforge::repo
