// Redis DUMP/RESTORE payloads for small hashes (not a public header).
//
// A first write of a key (the common case when a view is materialized into a fresh store) is sent
// as `RESTORE key ttl payload` without REPLACE: the server creates the whole hash in one step,
// at the cost of a SET of the same bytes, and refuses with BUSYKEY when the key already exists —
// so it can never replace anything, and rows whose key exists go through the compare-and-set
// script instead. The payload is what `DUMP` of that hash returns on Redis >= 7.0: a listpack
// hash object (RDB type 16), the RDB version (10) and a CRC-64 (Jones) trailer.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace featureforge::online {

// RDB version of the payload: 10 is Redis 7.0, the first with listpack hashes; later servers
// accept older versions.
inline constexpr uint16_t kDumpRdbVersion = 10;

// Redis's crc64 (Jones polynomial, reflected, init 0), as DUMP payloads carry it.
uint64_t RedisCrc64(uint64_t crc, std::string_view data);

// Builds a listpack hash DUMP payload from field/value pairs (every entry string-encoded),
// appending it to `out`. `pairs` must not repeat a field. Uses `scratch` to avoid allocations.
void AppendHashDumpPayload(const std::vector<std::pair<std::string_view, std::string_view>>& pairs,
                           std::string* out, std::string* scratch,
                           uint16_t rdb_version = kDumpRdbVersion);

// Appends one command in the Redis protocol (RESP array of bulk strings) to `out`.
void AppendRespCommand(std::initializer_list<std::string_view> args, std::string* out);

}  // namespace featureforge::online
