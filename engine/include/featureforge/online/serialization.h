// Feast-compatible byte formats for online stores, so a Feast deployment can read what we write:
//  - entity keys: Feast's `serialize_entity_key` (key_encoding_utils.py), version 3;
//  - feature values: `feast.types.Value` protobuf (feast/types/Value.proto), hand-encoded;
//  - row timestamps: `google.protobuf.Timestamp` protobuf;
//  - Redis hash field names: 32-bit MurmurHash3 of "view:feature", 4 bytes little-endian.
//
// Units: featureforge holds UNIX_TIMESTAMP values as microseconds; Feast's `unix_timestamp_val`
// holds whole seconds. Encoding floors micros to seconds, decoding multiplies back, so
// sub-second digits of UNIX_TIMESTAMP *feature values* are not kept (row event timestamps are
// Timestamp protos with nanos and keep full precision).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "featureforge/common/status.h"
#include "featureforge/common/time.h"
#include "featureforge/types/value.h"

namespace featureforge::online {

// Feast entity key serialization v3:
//   u32 count of join keys,
//   per join key (sorted by name): u32 ValueType.STRING (2), u32 byte length, UTF-8 name,
//   per value (in the sorted key order): u32 value type, u32 byte length, bytes
// with every u32 little-endian. Value bytes: STRING utf-8, BYTES raw, INT32 4-byte LE,
// INT64 8-byte LE, UNIX_TIMESTAMP 8-byte LE seconds. Other types are rejected (Feast does too).
// (Feast writes the Python character count as the key length; for ASCII join keys — the only
// kind Feast itself can deserialize — that equals the byte length used here.)
Result<std::string> SerializeEntityKey(const EntityKey& key);
void SerializeEntityKeyTo(const EntityKey& key, std::string* out);  // unchecked fast path
Status ValidateEntityKeyTypes(const EntityKey& key);
Result<EntityKey> DeserializeEntityKey(std::string_view bytes);

// feast.types.Value protobuf wire bytes. Null encodes as an empty message (Feast's `ValueProto()`);
// an empty message or `null_val` (field 19) decodes to Null.
std::string EncodeValueProto(const Value& value);
void EncodeValueProtoTo(const Value& value, std::string* out);
Result<Value> DecodeValueProto(std::string_view bytes);

// google.protobuf.Timestamp wire bytes (seconds = field 1, nanos = field 2; zero fields omitted).
std::string EncodeTimestampProto(TimestampMicros ts);
Result<TimestampMicros> DecodeTimestampProto(std::string_view bytes);

// MurmurHash3 x86 32-bit, the value Python's `mmh3.hash(data, signed=False)` returns.
uint32_t Murmur3_32(std::string_view data, uint32_t seed = 0);
// Feast's Redis hash field name for a feature: mmh3("view:feature") as 4 little-endian bytes.
std::string RedisFeatureField(std::string_view view, std::string_view feature);
// Feast's Redis hash field holding a view's row event timestamp: "_ts:<view>".
std::string RedisTimestampField(std::string_view view);

// Protobuf varint helpers, shared by the stores' own compact containers.
void AppendVarint(uint64_t v, std::string* out);
// Reads a varint at `*pos`, advancing it; false on truncation or overflow.
bool ReadVarint(std::string_view bytes, size_t* pos, uint64_t* v);

}  // namespace featureforge::online
