#include "featureforge/online/serialization.h"

#include <algorithm>
#include <cstring>
#include <numeric>

namespace featureforge::online {
namespace {

enum WireType : uint32_t { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

void AppendTag(uint32_t field, WireType wire, std::string* out) {
  AppendVarint((static_cast<uint64_t>(field) << 3) | wire, out);
}

void AppendU32(uint32_t v, std::string* out) {
  char b[4] = {static_cast<char>(v), static_cast<char>(v >> 8), static_cast<char>(v >> 16),
               static_cast<char>(v >> 24)};
  out->append(b, 4);
}

void AppendU64(uint64_t v, std::string* out) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}

uint32_t LoadU32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return uint32_t{u[0]} | (uint32_t{u[1]} << 8) | (uint32_t{u[2]} << 16) | (uint32_t{u[3]} << 24);
}

uint64_t LoadU64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

// Feast's unit for UNIX_TIMESTAMP values is seconds; ours is micros (floored, also below 0).
int64_t MicrosToSeconds(int64_t micros) {
  int64_t s = micros / kMicrosPerSecond;
  if (micros % kMicrosPerSecond < 0) --s;
  return s;
}

void AppendLengthDelimited(uint32_t field, std::string_view bytes, std::string* out) {
  AppendTag(field, kLengthDelimited, out);
  AppendVarint(bytes.size(), out);
  out->append(bytes);
}

template <typename T, typename Encode>
void AppendPackedList(uint32_t field, const std::vector<T>& items, Encode encode,
                      std::string* out) {
  std::string packed;
  for (const auto& item : items) encode(item, &packed);
  std::string inner;
  if (!packed.empty()) AppendLengthDelimited(1, packed, &inner);  // proto3 omits empty repeated
  AppendLengthDelimited(field, inner, out);
}

void AppendStringList(uint32_t field, const std::vector<std::string>& items, std::string* out) {
  std::string inner;
  for (const auto& item : items) AppendLengthDelimited(1, item, &inner);
  AppendLengthDelimited(field, inner, out);
}

void AppendFloatBits(float f, std::string* out) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  AppendU32(bits, out);
}

void AppendDoubleBits(double d, std::string* out) {
  uint64_t bits;
  std::memcpy(&bits, &d, 8);
  AppendU64(bits, out);
}

Status Truncated(std::string_view what) {
  return Status::Corruption(std::string(what) + ": truncated or malformed protobuf bytes");
}

// Skips one field's payload of the given wire type.
bool SkipField(std::string_view bytes, size_t* pos, uint32_t wire) {
  uint64_t len = 0;
  switch (wire) {
    case kVarint:
      return ReadVarint(bytes, pos, &len);
    case kFixed64:
      len = 8;
      break;
    case kFixed32:
      len = 4;
      break;
    case kLengthDelimited:
      if (!ReadVarint(bytes, pos, &len)) return false;
      break;
    default:
      return false;
  }
  if (len > bytes.size() - *pos) return false;
  *pos += len;
  return true;
}

bool ReadLengthDelimited(std::string_view bytes, size_t* pos, std::string_view* out) {
  uint64_t len = 0;
  if (!ReadVarint(bytes, pos, &len) || len > bytes.size() - *pos) return false;
  *out = bytes.substr(*pos, len);
  *pos += len;
  return true;
}

// Decodes the `repeated <scalar> val = 1` of a list message, accepting packed and unpacked forms.
template <typename T, typename FromVarint>
bool DecodeVarintList(std::string_view msg, std::vector<T>* out, FromVarint convert) {
  size_t pos = 0;
  while (pos < msg.size()) {
    uint64_t tag;
    if (!ReadVarint(msg, &pos, &tag)) return false;
    uint32_t field = static_cast<uint32_t>(tag >> 3), wire = tag & 7;
    if (field == 1 && wire == kLengthDelimited) {
      std::string_view packed;
      if (!ReadLengthDelimited(msg, &pos, &packed)) return false;
      size_t p = 0;
      while (p < packed.size()) {
        uint64_t v;
        if (!ReadVarint(packed, &p, &v)) return false;
        out->push_back(convert(v));
      }
    } else if (field == 1 && wire == kVarint) {
      uint64_t v;
      if (!ReadVarint(msg, &pos, &v)) return false;
      out->push_back(convert(v));
    } else if (!SkipField(msg, &pos, wire)) {
      return false;
    }
  }
  return true;
}

template <typename T, size_t kWidth>
bool DecodeFixedList(std::string_view msg, std::vector<T>* out) {
  constexpr uint32_t kWire = kWidth == 4 ? kFixed32 : kFixed64;
  auto load = [](const char* p) {
    T v;
    if constexpr (kWidth == 4) {
      uint32_t bits = LoadU32(p);
      std::memcpy(&v, &bits, 4);
    } else {
      uint64_t bits = LoadU64(p);
      std::memcpy(&v, &bits, 8);
    }
    return v;
  };
  size_t pos = 0;
  while (pos < msg.size()) {
    uint64_t tag;
    if (!ReadVarint(msg, &pos, &tag)) return false;
    uint32_t field = static_cast<uint32_t>(tag >> 3), wire = tag & 7;
    if (field == 1 && wire == kLengthDelimited) {
      std::string_view packed;
      if (!ReadLengthDelimited(msg, &pos, &packed) || packed.size() % kWidth != 0) return false;
      for (size_t p = 0; p < packed.size(); p += kWidth) out->push_back(load(packed.data() + p));
    } else if (field == 1 && wire == kWire) {
      if (msg.size() - pos < kWidth) return false;
      out->push_back(load(msg.data() + pos));
      pos += kWidth;
    } else if (!SkipField(msg, &pos, wire)) {
      return false;
    }
  }
  return true;
}

bool DecodeStringList(std::string_view msg, std::vector<std::string>* out) {
  size_t pos = 0;
  while (pos < msg.size()) {
    uint64_t tag;
    if (!ReadVarint(msg, &pos, &tag)) return false;
    uint32_t field = static_cast<uint32_t>(tag >> 3), wire = tag & 7;
    if (field == 1 && wire == kLengthDelimited) {
      std::string_view s;
      if (!ReadLengthDelimited(msg, &pos, &s)) return false;
      out->emplace_back(s);
    } else if (!SkipField(msg, &pos, wire)) {
      return false;
    }
  }
  return true;
}

// Entity key values: the types Feast's `_serialize_val` supports.
bool IsEntityKeyType(ValueType t) {
  return t == ValueType::kString || t == ValueType::kBytes || t == ValueType::kInt32 ||
         t == ValueType::kInt64 || t == ValueType::kUnixTimestamp;
}

void AppendEntityValue(const Value& v, std::string* out) {
  AppendU32(static_cast<uint32_t>(v.type), out);
  switch (v.type) {
    case ValueType::kString:
    case ValueType::kBytes: {
      const auto& s = std::get<std::string>(v.data);
      AppendU32(static_cast<uint32_t>(s.size()), out);
      out->append(s);
      break;
    }
    case ValueType::kInt32:
      AppendU32(4, out);
      AppendU32(static_cast<uint32_t>(std::get<int32_t>(v.data)), out);
      break;
    case ValueType::kInt64:
      AppendU32(8, out);
      AppendU64(static_cast<uint64_t>(std::get<int64_t>(v.data)), out);
      break;
    case ValueType::kUnixTimestamp:
      AppendU32(8, out);
      AppendU64(static_cast<uint64_t>(MicrosToSeconds(std::get<int64_t>(v.data))), out);
      break;
    default:
      break;  // rejected by ValidateEntityKeyTypes
  }
}

}  // namespace

void AppendVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

bool ReadVarint(std::string_view bytes, size_t* pos, uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (*pos >= bytes.size()) return false;
    auto byte = static_cast<unsigned char>(bytes[(*pos)++]);
    result |= uint64_t{byte & 0x7fu} << shift;
    if (!(byte & 0x80)) {
      *v = result;
      return true;
    }
  }
  return false;
}

Status ValidateEntityKeyTypes(const EntityKey& key) {
  if (key.join_keys.size() != key.values.size()) {
    return Status::InvalidArgument("entity key " + key.ToString() + " has " +
                                   std::to_string(key.join_keys.size()) + " join keys but " +
                                   std::to_string(key.values.size()) + " values");
  }
  if (key.join_keys.empty()) return Status::InvalidArgument("entity key has no join keys");
  for (size_t i = 0; i < key.values.size(); ++i) {
    const Value& v = key.values[i];
    if (!IsEntityKeyType(v.type)) {
      return Status::InvalidArgument("join key '" + key.join_keys[i] + "' has value type " +
                                     std::string(ValueTypeName(v.type)) +
                                     "; entity keys must be String, Bytes, Int32, Int64 or "
                                     "UnixTimestamp");
    }
  }
  return Status::OK();
}

void SerializeEntityKeyTo(const EntityKey& key, std::string* out) {
  const size_t n = key.join_keys.size();
  // Sorting indices keeps the common single-key case allocation-free beyond the index array.
  size_t order_small[4];
  std::vector<size_t> order_large;
  size_t* order = order_small;
  if (n > 4) {
    order_large.resize(n);
    order = order_large.data();
  }
  std::iota(order, order + n, size_t{0});
  std::sort(order, order + n,
            [&](size_t a, size_t b) { return key.join_keys[a] < key.join_keys[b]; });
  AppendU32(static_cast<uint32_t>(n), out);
  for (size_t i = 0; i < n; ++i) {
    const std::string& name = key.join_keys[order[i]];
    AppendU32(static_cast<uint32_t>(ValueType::kString), out);
    AppendU32(static_cast<uint32_t>(name.size()), out);
    out->append(name);
  }
  for (size_t i = 0; i < n; ++i) AppendEntityValue(key.values[order[i]], out);
}

Result<std::string> SerializeEntityKey(const EntityKey& key) {
  FF_RETURN_IF_ERROR(ValidateEntityKeyTypes(key));
  std::string out;
  SerializeEntityKeyTo(key, &out);
  return out;
}

Result<EntityKey> DeserializeEntityKey(std::string_view bytes) {
  auto bad = [](const std::string& why) {
    return Status::Corruption("serialized entity key: " + why);
  };
  size_t pos = 0;
  auto read_u32 = [&](uint32_t* v) {
    if (bytes.size() - pos < 4) return false;
    *v = LoadU32(bytes.data() + pos);
    pos += 4;
    return true;
  };
  uint32_t count;
  if (!read_u32(&count)) return bad("truncated key count");
  if (count == 0 || count > bytes.size())
    return bad("implausible key count " + std::to_string(count));
  EntityKey key;
  for (uint32_t i = 0; i < count; ++i) {
    uint32_t type, len;
    if (!read_u32(&type) || !read_u32(&len)) return bad("truncated join key header");
    if (type != static_cast<uint32_t>(ValueType::kString)) {
      return bad("join key type " + std::to_string(type) + " is not STRING");
    }
    if (bytes.size() - pos < len) return bad("truncated join key name");
    key.join_keys.emplace_back(bytes.substr(pos, len));
    pos += len;
  }
  for (uint32_t i = 0; i < count; ++i) {
    uint32_t type, len;
    if (!read_u32(&type) || !read_u32(&len)) return bad("truncated value header");
    if (bytes.size() - pos < len) return bad("truncated value");
    const char* p = bytes.data() + pos;
    auto vt = static_cast<ValueType>(type);
    switch (vt) {
      case ValueType::kString:
        key.values.push_back(Value::String(std::string(p, len)));
        break;
      case ValueType::kBytes:
        key.values.push_back(Value::Bytes(std::string(p, len)));
        break;
      case ValueType::kInt32:
        if (len != 4) return bad("INT32 value of " + std::to_string(len) + " bytes");
        key.values.push_back(Value::Int32(static_cast<int32_t>(LoadU32(p))));
        break;
      case ValueType::kInt64:
        if (len != 8) return bad("INT64 value of " + std::to_string(len) + " bytes");
        key.values.push_back(Value::Int64(static_cast<int64_t>(LoadU64(p))));
        break;
      case ValueType::kUnixTimestamp:
        if (len != 8) return bad("UNIX_TIMESTAMP value of " + std::to_string(len) + " bytes");
        key.values.push_back(
            Value::UnixTimestamp(static_cast<int64_t>(LoadU64(p)) * kMicrosPerSecond));
        break;
      default:
        return bad("unsupported value type " + std::to_string(type));
    }
    pos += len;
  }
  if (pos != bytes.size()) return bad("trailing bytes");
  return key;
}

void EncodeValueProtoTo(const Value& value, std::string* out) {
  const auto& d = value.data;
  switch (value.type) {
    case ValueType::kBytes:
    case ValueType::kString:
      AppendLengthDelimited(static_cast<uint32_t>(value.type), std::get<std::string>(d), out);
      break;
    case ValueType::kInt32:
      AppendTag(3, kVarint, out);
      // int32 negatives are sign-extended to 64 bits on the wire (10 bytes).
      AppendVarint(static_cast<uint64_t>(static_cast<int64_t>(std::get<int32_t>(d))), out);
      break;
    case ValueType::kInt64:
      AppendTag(4, kVarint, out);
      AppendVarint(static_cast<uint64_t>(std::get<int64_t>(d)), out);
      break;
    case ValueType::kDouble:
      AppendTag(5, kFixed64, out);
      AppendDoubleBits(std::get<double>(d), out);
      break;
    case ValueType::kFloat:
      AppendTag(6, kFixed32, out);
      AppendFloatBits(std::get<float>(d), out);
      break;
    case ValueType::kBool:
      AppendTag(7, kVarint, out);
      AppendVarint(std::get<bool>(d) ? 1 : 0, out);
      break;
    case ValueType::kUnixTimestamp:
      AppendTag(8, kVarint, out);
      AppendVarint(static_cast<uint64_t>(MicrosToSeconds(std::get<int64_t>(d))), out);
      break;
    case ValueType::kBytesList:
    case ValueType::kStringList:
      AppendStringList(static_cast<uint32_t>(value.type), std::get<std::vector<std::string>>(d),
                       out);
      break;
    case ValueType::kInt32List:
      AppendPackedList(
          13, std::get<std::vector<int32_t>>(d),
          [](int32_t v, std::string* o) {
            AppendVarint(static_cast<uint64_t>(static_cast<int64_t>(v)), o);
          },
          out);
      break;
    case ValueType::kInt64List:
      AppendPackedList(
          14, std::get<std::vector<int64_t>>(d),
          [](int64_t v, std::string* o) { AppendVarint(static_cast<uint64_t>(v), o); }, out);
      break;
    case ValueType::kDoubleList:
      AppendPackedList(15, std::get<std::vector<double>>(d), AppendDoubleBits, out);
      break;
    case ValueType::kFloatList:
      AppendPackedList(16, std::get<std::vector<float>>(d), AppendFloatBits, out);
      break;
    case ValueType::kBoolList:
      AppendPackedList(
          17, std::get<std::vector<bool>>(d),
          [](bool v, std::string* o) { o->push_back(v ? 1 : 0); }, out);
      break;
    case ValueType::kUnixTimestampList:
      AppendPackedList(
          18, std::get<std::vector<int64_t>>(d),
          [](int64_t v, std::string* o) {
            AppendVarint(static_cast<uint64_t>(MicrosToSeconds(v)), o);
          },
          out);
      break;
    case ValueType::kNull:
    case ValueType::kInvalid:
      break;  // Feast writes a missing value as an empty Value message.
  }
}

std::string EncodeValueProto(const Value& value) {
  std::string out;
  EncodeValueProtoTo(value, &out);
  return out;
}

Result<Value> DecodeValueProto(std::string_view bytes) {
  Value value;  // Null unless a field says otherwise; the last oneof member wins, like protobuf.
  size_t pos = 0;
  while (pos < bytes.size()) {
    uint64_t tag;
    if (!ReadVarint(bytes, &pos, &tag)) return Truncated("feast.types.Value");
    const uint32_t field = static_cast<uint32_t>(tag >> 3), wire = tag & 7;
    auto expect = [&](uint32_t w) { return wire == w; };
    uint64_t v = 0;
    std::string_view sub;
    bool ok = true;
    switch (field) {
      case 1:
      case 2:
        ok = expect(kLengthDelimited) && ReadLengthDelimited(bytes, &pos, &sub);
        if (ok)
          value = field == 1 ? Value::Bytes(std::string(sub)) : Value::String(std::string(sub));
        break;
      case 3:
        ok = expect(kVarint) && ReadVarint(bytes, &pos, &v);
        if (ok) value = Value::Int32(static_cast<int32_t>(v));
        break;
      case 4:
        ok = expect(kVarint) && ReadVarint(bytes, &pos, &v);
        if (ok) value = Value::Int64(static_cast<int64_t>(v));
        break;
      case 5:
        ok = expect(kFixed64) && bytes.size() - pos >= 8;
        if (ok) {
          uint64_t bits = LoadU64(bytes.data() + pos);
          double dv;
          std::memcpy(&dv, &bits, 8);
          value = Value::Double(dv);
          pos += 8;
        }
        break;
      case 6:
        ok = expect(kFixed32) && bytes.size() - pos >= 4;
        if (ok) {
          uint32_t bits = LoadU32(bytes.data() + pos);
          float fv;
          std::memcpy(&fv, &bits, 4);
          value = Value::Float(fv);
          pos += 4;
        }
        break;
      case 7:
        ok = expect(kVarint) && ReadVarint(bytes, &pos, &v);
        if (ok) value = Value::Bool(v != 0);
        break;
      case 8:
        ok = expect(kVarint) && ReadVarint(bytes, &pos, &v);
        if (ok) value = Value::UnixTimestamp(static_cast<int64_t>(v) * kMicrosPerSecond);
        break;
      case 11:
      case 12: {
        std::vector<std::string> items;
        ok = expect(kLengthDelimited) && ReadLengthDelimited(bytes, &pos, &sub) &&
             DecodeStringList(sub, &items);
        if (ok) value = {static_cast<ValueType>(field), std::move(items)};
        break;
      }
      case 13: {
        std::vector<int32_t> items;
        ok = expect(kLengthDelimited) && ReadLengthDelimited(bytes, &pos, &sub) &&
             DecodeVarintList(sub, &items, [](uint64_t x) { return static_cast<int32_t>(x); });
        if (ok) value = {ValueType::kInt32List, std::move(items)};
        break;
      }
      case 14:
      case 18: {
        std::vector<int64_t> items;
        const int64_t scale = field == 18 ? kMicrosPerSecond : 1;
        ok = expect(kLengthDelimited) && ReadLengthDelimited(bytes, &pos, &sub) &&
             DecodeVarintList(sub, &items,
                              [scale](uint64_t x) { return static_cast<int64_t>(x) * scale; });
        if (ok) value = {static_cast<ValueType>(field), std::move(items)};
        break;
      }
      case 15: {
        std::vector<double> items;
        ok = expect(kLengthDelimited) && ReadLengthDelimited(bytes, &pos, &sub) &&
             DecodeFixedList<double, 8>(sub, &items);
        if (ok) value = {ValueType::kDoubleList, std::move(items)};
        break;
      }
      case 16: {
        std::vector<float> items;
        ok = expect(kLengthDelimited) && ReadLengthDelimited(bytes, &pos, &sub) &&
             DecodeFixedList<float, 4>(sub, &items);
        if (ok) value = {ValueType::kFloatList, std::move(items)};
        break;
      }
      case 17: {
        std::vector<bool> items;
        ok = expect(kLengthDelimited) && ReadLengthDelimited(bytes, &pos, &sub) &&
             DecodeVarintList(sub, &items, [](uint64_t x) { return x != 0; });
        if (ok) value = {ValueType::kBoolList, std::move(items)};
        break;
      }
      case 19:  // null_val
        ok = SkipField(bytes, &pos, wire);
        if (ok) value = Value::Null();
        break;
      default:  // fields from newer Feast versions (maps, sets, ...) we do not model
        if (field >= 20 && SkipField(bytes, &pos, wire)) {
          return Status::NotSupported("feast.types.Value field " + std::to_string(field) +
                                      " (a Feast value type featureforge does not model)");
        }
        ok = SkipField(bytes, &pos, wire);
        break;
    }
    if (!ok) return Truncated("feast.types.Value field " + std::to_string(field));
  }
  return value;
}

std::string EncodeTimestampProto(TimestampMicros ts) {
  int64_t seconds = MicrosToSeconds(ts);
  auto nanos = static_cast<int32_t>((ts - seconds * kMicrosPerSecond) * 1000);
  std::string out;
  if (seconds != 0) {
    AppendTag(1, kVarint, &out);
    AppendVarint(static_cast<uint64_t>(seconds), &out);
  }
  if (nanos != 0) {
    AppendTag(2, kVarint, &out);
    AppendVarint(static_cast<uint64_t>(nanos), &out);
  }
  return out;
}

Result<TimestampMicros> DecodeTimestampProto(std::string_view bytes) {
  int64_t seconds = 0, nanos = 0;
  size_t pos = 0;
  while (pos < bytes.size()) {
    uint64_t tag, v;
    if (!ReadVarint(bytes, &pos, &tag)) return Truncated("google.protobuf.Timestamp");
    const uint32_t field = static_cast<uint32_t>(tag >> 3), wire = tag & 7;
    if ((field == 1 || field == 2) && wire == kVarint) {
      if (!ReadVarint(bytes, &pos, &v)) return Truncated("google.protobuf.Timestamp");
      if (field == 1) {
        seconds = static_cast<int64_t>(v);
      } else {
        nanos = static_cast<int32_t>(v);
      }
    } else if (!SkipField(bytes, &pos, wire)) {
      return Truncated("google.protobuf.Timestamp");
    }
  }
  return seconds * kMicrosPerSecond + nanos / 1000;
}

uint32_t Murmur3_32(std::string_view data, uint32_t seed) {
  constexpr uint32_t c1 = 0xcc9e2d51, c2 = 0x1b873593;
  auto rotl = [](uint32_t x, int r) { return (x << r) | (x >> (32 - r)); };
  const size_t nblocks = data.size() / 4;
  uint32_t h = seed;
  for (size_t i = 0; i < nblocks; ++i) {
    uint32_t k = LoadU32(data.data() + 4 * i);
    k *= c1;
    k = rotl(k, 15);
    k *= c2;
    h ^= k;
    h = rotl(h, 13);
    h = h * 5 + 0xe6546b64;
  }
  const auto* tail = reinterpret_cast<const unsigned char*>(data.data() + nblocks * 4);
  uint32_t k = 0;
  switch (data.size() & 3) {
    case 3:
      k ^= uint32_t{tail[2]} << 16;
      [[fallthrough]];
    case 2:
      k ^= uint32_t{tail[1]} << 8;
      [[fallthrough]];
    case 1:
      k ^= tail[0];
      k *= c1;
      k = rotl(k, 15);
      k *= c2;
      h ^= k;
  }
  h ^= static_cast<uint32_t>(data.size());
  h ^= h >> 16;
  h *= 0x85ebca6b;
  h ^= h >> 13;
  h *= 0xc2b2ae35;
  h ^= h >> 16;
  return h;
}

std::string RedisFeatureField(std::string_view view, std::string_view feature) {
  std::string name;
  name.reserve(view.size() + 1 + feature.size());
  name.append(view).append(":").append(feature);
  std::string out;
  AppendU32(Murmur3_32(name), &out);
  return out;
}

std::string RedisTimestampField(std::string_view view) { return "_ts:" + std::string(view); }

}  // namespace featureforge::online
