// Conversions between the repo model and the registry's Protobuf messages.
#pragma once

#include "featureforge/repo/model.h"
#include "registry.pb.h"

namespace featureforge::registry {

proto::Entity ToProto(const repo::Entity& entity);
proto::DataSource ToProto(const repo::DataSource& source);
proto::FeatureViewDefinition ToProto(const repo::FeatureView& view);
proto::FeatureService ToProto(const repo::FeatureService& service);

repo::Entity FromProto(const proto::Entity& entity);
repo::DataSource FromProto(const proto::DataSource& source);
repo::FeatureView FromProto(const proto::FeatureViewDefinition& view);
repo::FeatureService FromProto(const proto::FeatureService& service);

// CRC-32 (IEEE, as zlib computes it) of the framed payload.
uint32_t Crc32(const std::string& data);

}  // namespace featureforge::registry
