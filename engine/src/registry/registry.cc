#include "featureforge/registry/registry.h"

#include <google/protobuf/util/message_differencer.h>

#include <algorithm>
#include <map>

#include "registry.pb.h"
#include "registry_codec.h"

namespace featureforge::registry {
namespace {

template <typename Message>
bool SameDefinition(Message a, Message b) {
  // Moving a definition within its file is not a change.
  a.clear_location();
  b.clear_location();
  return google::protobuf::util::MessageDifferencer::Equals(a, b);
}

void SortChanges(ObjectChanges* changes) {
  for (auto* names :
       {&changes->created, &changes->updated, &changes->deleted, &changes->unchanged}) {
    std::sort(names->begin(), names->end());
  }
}

// Replaces `stored` (entities, sources or services) with `models`, recording what changed.
template <typename Message, typename Model>
ObjectChanges ReplaceObjects(google::protobuf::RepeatedPtrField<Message>* stored,
                             const std::vector<Model>& models) {
  ObjectChanges changes;
  std::map<std::string, const Message*> old_by_name;
  for (const auto& message : *stored) old_by_name[message.name()] = &message;
  google::protobuf::RepeatedPtrField<Message> replacement;
  for (const auto& model : models) {
    Message message = ToProto(model);
    auto old = old_by_name.find(model.name);
    if (old == old_by_name.end()) {
      changes.created.push_back(model.name);
    } else {
      (SameDefinition(*old->second, message) ? changes.unchanged : changes.updated)
          .push_back(model.name);
      old_by_name.erase(old);
    }
    *replacement.Add() = std::move(message);
  }
  for (const auto& [name, message] : old_by_name) changes.deleted.push_back(name);
  stored->Swap(&replacement);
  SortChanges(&changes);
  return changes;
}

FeatureViewState ToState(const proto::FeatureView& stored) {
  FeatureViewState state;
  state.view = FromProto(stored.definition());
  for (const auto& interval : stored.intervals()) {
    state.intervals.push_back({interval.start_micros(), interval.end_micros(),
                               interval.rows_written(), interval.completed_at_micros()});
    state.rows_written += interval.rows_written();
    if (!state.last_materialized_end || interval.end_micros() > *state.last_materialized_end) {
      state.last_materialized_end = interval.end_micros();
    }
  }
  state.created_at = stored.created_at_micros();
  state.updated_at = stored.updated_at_micros();
  return state;
}

}  // namespace

Registry::Registry() : proto_(std::make_unique<proto::Registry>()) {}
Registry::~Registry() = default;
Registry::Registry(const Registry& other)
    : proto_(std::make_unique<proto::Registry>(*other.proto_)) {}
Registry& Registry::operator=(const Registry& other) {
  if (this != &other) *proto_ = *other.proto_;
  return *this;
}
// A moved-from registry stays usable (empty), so proto_ is never null.
Registry::Registry(Registry&& other) noexcept : proto_(std::make_unique<proto::Registry>()) {
  proto_.swap(other.proto_);
}
Registry& Registry::operator=(Registry&& other) noexcept {
  proto_.swap(other.proto_);
  return *this;
}

ApplyResult Registry::Apply(const repo::Repo& repo, TimestampMicros now) {
  ApplyResult result;
  if (!proto_->project().empty() && proto_->project() != repo.config.project) {
    result.project_changed = true;
    proto::Registry fresh;
    proto_->Swap(&fresh);
  }
  proto_->set_project(repo.config.project);
  result.entities = ReplaceObjects(proto_->mutable_entities(), repo.entities);
  result.sources = ReplaceObjects(proto_->mutable_sources(), repo.sources);
  result.feature_services =
      ReplaceObjects(proto_->mutable_feature_services(), repo.feature_services);

  // Views keep their intervals while they exist, whatever changed in their definition.
  std::map<std::string, proto::FeatureView*> old_views;
  for (auto& stored : *proto_->mutable_feature_views()) {
    old_views[stored.definition().name()] = &stored;
  }
  google::protobuf::RepeatedPtrField<proto::FeatureView> views;
  ObjectChanges& changes = result.feature_views;
  for (const auto& view : repo.feature_views) {
    proto::FeatureView* record = views.Add();
    *record->mutable_definition() = ToProto(view);
    auto old = old_views.find(view.name);
    if (old == old_views.end()) {
      changes.created.push_back(view.name);
      record->set_created_at_micros(now);
      record->set_updated_at_micros(now);
      continue;
    }
    const bool same = SameDefinition(old->second->definition(), record->definition());
    (same ? changes.unchanged : changes.updated).push_back(view.name);
    record->mutable_intervals()->Swap(old->second->mutable_intervals());
    record->set_created_at_micros(old->second->created_at_micros());
    record->set_updated_at_micros(same ? old->second->updated_at_micros() : now);
    old_views.erase(old);
  }
  for (const auto& [name, record] : old_views) changes.deleted.push_back(name);
  proto_->mutable_feature_views()->Swap(&views);
  SortChanges(&changes);
  if (result.changed() || proto_->last_updated_micros() == 0) proto_->set_last_updated_micros(now);
  return result;
}

Status Registry::RecordMaterialization(const std::string& view, TimestampMicros start,
                                       TimestampMicros end, int64_t rows_written,
                                       TimestampMicros completed_at) {
  if (start > end) {
    return Status::InvalidArgument("materialization of '" + view + "': start " +
                                   FormatTimestamp(start) + " is after end " +
                                   FormatTimestamp(end));
  }
  if (rows_written < 0) {
    return Status::InvalidArgument("materialization of '" + view + "': negative row count " +
                                   std::to_string(rows_written));
  }
  for (auto& stored : *proto_->mutable_feature_views()) {
    if (stored.definition().name() != view) continue;
    proto::MaterializationInterval* interval = stored.add_intervals();
    interval->set_start_micros(start);
    interval->set_end_micros(end);
    interval->set_rows_written(rows_written);
    interval->set_completed_at_micros(completed_at);
    proto_->set_last_updated_micros(std::max(proto_->last_updated_micros(), completed_at));
    return Status::OK();
  }
  return Status::NotFound("feature view '" + view + "' is not in the registry (run apply first)");
}

std::optional<TimestampMicros> Registry::LastMaterializedEnd(const std::string& view) const {
  auto state = feature_view(view);
  return state ? state->last_materialized_end : std::nullopt;
}

const std::string& Registry::project() const { return proto_->project(); }
bool Registry::empty() const { return proto_->project().empty(); }
TimestampMicros Registry::last_updated() const { return proto_->last_updated_micros(); }

std::vector<repo::Entity> Registry::entities() const {
  std::vector<repo::Entity> out;
  for (const auto& entity : proto_->entities()) out.push_back(FromProto(entity));
  return out;
}

std::vector<repo::DataSource> Registry::sources() const {
  std::vector<repo::DataSource> out;
  for (const auto& source : proto_->sources()) out.push_back(FromProto(source));
  return out;
}

std::vector<FeatureViewState> Registry::feature_views() const {
  std::vector<FeatureViewState> out;
  for (const auto& stored : proto_->feature_views()) out.push_back(ToState(stored));
  return out;
}

std::optional<FeatureViewState> Registry::feature_view(const std::string& name) const {
  for (const auto& stored : proto_->feature_views()) {
    if (stored.definition().name() == name) return ToState(stored);
  }
  return std::nullopt;
}

std::vector<repo::FeatureService> Registry::feature_services() const {
  std::vector<repo::FeatureService> out;
  for (const auto& service : proto_->feature_services()) out.push_back(FromProto(service));
  return out;
}

}  // namespace featureforge::registry
