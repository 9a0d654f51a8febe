#include "registry_codec.h"

#include <array>

namespace featureforge::registry {
namespace {

proto::Location ToProto(const repo::SourceLocation& location) {
  proto::Location out;
  out.set_file(location.file);
  out.set_line(location.line);
  return out;
}

repo::SourceLocation FromProto(const proto::Location& location) {
  return {location.file(), location.line()};
}

void CopyMap(const std::map<std::string, std::string>& from,
             google::protobuf::Map<std::string, std::string>* to) {
  for (const auto& [key, value] : from) (*to)[key] = value;
}

std::map<std::string, std::string> CopyMap(
    const google::protobuf::Map<std::string, std::string>& from) {
  return {from.begin(), from.end()};
}

template <typename Repeated>
std::vector<std::string> Strings(const Repeated& values) {
  return {values.begin(), values.end()};
}

}  // namespace

proto::Entity ToProto(const repo::Entity& entity) {
  proto::Entity out;
  out.set_name(entity.name);
  for (const auto& key : entity.join_keys) out.add_join_keys(key);
  out.set_value_type(static_cast<int32_t>(entity.value_type));
  out.set_description(entity.description);
  CopyMap(entity.tags, out.mutable_tags());
  *out.mutable_location() = ToProto(entity.location);
  return out;
}

proto::DataSource ToProto(const repo::DataSource& source) {
  proto::DataSource out;
  out.set_name(source.name);
  out.set_path(source.path);
  out.set_format(source.format == repo::FileFormat::kCsv ? proto::DataSource::CSV
                                                         : proto::DataSource::PARQUET);
  out.set_timestamp_field(source.timestamp_field);
  out.set_created_timestamp_column(source.created_timestamp_column);
  CopyMap(source.field_mapping, out.mutable_field_mapping());
  out.set_description(source.description);
  *out.mutable_location() = ToProto(source.location);
  return out;
}

proto::FeatureViewDefinition ToProto(const repo::FeatureView& view) {
  proto::FeatureViewDefinition out;
  out.set_name(view.name);
  for (const auto& entity : view.entities) out.add_entities(entity);
  out.set_ttl_micros(view.ttl);
  for (const auto& feature : view.features) {
    proto::Field* field = out.add_features();
    field->set_name(feature.name);
    field->set_value_type(static_cast<int32_t>(feature.type));
    field->set_description(feature.description);
    CopyMap(feature.tags, field->mutable_tags());
  }
  out.set_online(view.online);
  out.set_offline(view.offline);
  out.set_description(view.description);
  CopyMap(view.tags, out.mutable_tags());
  out.set_source(view.source);
  out.set_is_batch(view.is_batch);
  out.set_query(view.query);
  for (const auto& source : view.query_sources) out.add_query_sources(source);
  out.set_path(view.path);
  out.set_timestamp_field(view.timestamp_field);
  out.set_created_timestamp_column(view.created_timestamp_column);
  *out.mutable_location() = ToProto(view.location);
  return out;
}

proto::FeatureService ToProto(const repo::FeatureService& service) {
  proto::FeatureService out;
  out.set_name(service.name);
  for (const auto& projection : service.projections) {
    proto::Projection* p = out.add_projections();
    p->set_view(projection.view);
    for (const auto& feature : projection.features) p->add_features(feature);
  }
  out.set_description(service.description);
  *out.mutable_location() = ToProto(service.location);
  return out;
}

repo::Entity FromProto(const proto::Entity& entity) {
  repo::Entity out;
  out.name = entity.name();
  out.join_keys = Strings(entity.join_keys());
  out.value_type = static_cast<ValueType>(entity.value_type());
  out.description = entity.description();
  out.tags = CopyMap(entity.tags());
  out.location = FromProto(entity.location());
  return out;
}

repo::DataSource FromProto(const proto::DataSource& source) {
  repo::DataSource out;
  out.name = source.name();
  out.path = source.path();
  out.format = source.format() == proto::DataSource::CSV ? repo::FileFormat::kCsv
                                                         : repo::FileFormat::kParquet;
  out.timestamp_field = source.timestamp_field();
  out.created_timestamp_column = source.created_timestamp_column();
  out.field_mapping = CopyMap(source.field_mapping());
  out.description = source.description();
  out.location = FromProto(source.location());
  return out;
}

repo::FeatureView FromProto(const proto::FeatureViewDefinition& view) {
  repo::FeatureView out;
  out.name = view.name();
  out.entities = Strings(view.entities());
  out.ttl = view.ttl_micros();
  for (const auto& field : view.features()) {
    out.features.push_back({field.name(), static_cast<ValueType>(field.value_type()),
                            field.description(), CopyMap(field.tags())});
  }
  out.online = view.online();
  out.offline = view.offline();
  out.description = view.description();
  out.tags = CopyMap(view.tags());
  out.source = view.source();
  out.is_batch = view.is_batch();
  out.query = view.query();
  out.query_sources = Strings(view.query_sources());
  out.path = view.path();
  out.timestamp_field = view.timestamp_field();
  out.created_timestamp_column = view.created_timestamp_column();
  out.location = FromProto(view.location());
  return out;
}

repo::FeatureService FromProto(const proto::FeatureService& service) {
  repo::FeatureService out;
  out.name = service.name();
  for (const auto& projection : service.projections()) {
    out.projections.push_back({projection.view(), Strings(projection.features())});
  }
  out.description = service.description();
  out.location = FromProto(service.location());
  return out;
}

uint32_t Crc32(const std::string& data) {
  static const std::array<uint32_t, 256> kTable = [] {
    std::array<uint32_t, 256> table{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      table[i] = c;
    }
    return table;
  }();
  uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char byte : data) crc = kTable[(crc ^ byte) & 0xFF] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

}  // namespace featureforge::registry
