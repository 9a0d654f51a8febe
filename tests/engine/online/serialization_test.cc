// Byte-exact checks of the Feast formats: vectors hand-computed from Feast's spec
// (key_encoding_utils.serialize_entity_key v3, feast/types/Value.proto, mmh3), plus a cross-check
// of every value type against libprotobuf encoding a runtime-built copy of Value.proto.
#include "featureforge/online/serialization.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/timestamp.pb.h>
#include <gtest/gtest.h>

#include <cmath>

namespace featureforge::online {
namespace {

std::string Hex(std::string_view bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    if (!out.empty()) out += ' ';
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

TEST(EntityKeyTest, SingleInt64KeyMatchesFeastV3Bytes) {
  EntityKey key{{"driver_id"}, {Value::Int64(1001)}};
  auto bytes = SerializeEntityKey(key);
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  EXPECT_EQ(Hex(*bytes),
            "01 00 00 00 "                                         // one join key
            "02 00 00 00 09 00 00 00 64 72 69 76 65 72 5f 69 64 "  // STRING, 9, "driver_id"
            "04 00 00 00 08 00 00 00 e9 03 00 00 00 00 00 00");    // INT64, 8, 1001 LE
}

TEST(EntityKeyTest, JoinKeysAreSortedByNameWithTheirValues) {
  EntityKey key{{"b", "a"}, {Value::String("x"), Value::Int32(-1)}};
  auto bytes = SerializeEntityKey(key);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(Hex(*bytes),
            "02 00 00 00 "
            "02 00 00 00 01 00 00 00 61 "
            "02 00 00 00 01 00 00 00 62 "
            "03 00 00 00 04 00 00 00 ff ff ff ff "
            "02 00 00 00 01 00 00 00 78");
  // Same key in the other order serializes identically.
  EntityKey swapped{{"a", "b"}, {Value::Int32(-1), Value::String("x")}};
  EXPECT_EQ(*SerializeEntityKey(swapped), *bytes);
}

TEST(EntityKeyTest, BytesAndUnixTimestampValues) {
  EntityKey key{{"k"}, {Value::Bytes(std::string("\x00\xff", 2))}};
  EXPECT_EQ(Hex(*SerializeEntityKey(key)),
            "01 00 00 00 02 00 00 00 01 00 00 00 6b 01 00 00 00 02 00 00 00 00 ff");
  // UNIX_TIMESTAMP goes out in seconds (Feast's unit): 2.5 s -> 2.
  EntityKey ts{{"t"}, {Value::UnixTimestamp(2'500'000)}};
  EXPECT_EQ(Hex(*SerializeEntityKey(ts)),
            "01 00 00 00 02 00 00 00 01 00 00 00 74 08 00 00 00 08 00 00 00 02 00 00 00 00 00 00 "
            "00");
}

TEST(EntityKeyTest, RoundTripsThroughDeserialize) {
  EntityKey key{{"user", "merchant", "day"},
                {Value::Int64(-42), Value::String("m-1"), Value::Int32(7)}};
  auto bytes = SerializeEntityKey(key);
  ASSERT_TRUE(bytes.ok());
  auto back = DeserializeEntityKey(*bytes);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  // Deserialization yields the sorted order.
  EntityKey sorted{{"day", "merchant", "user"},
                   {Value::Int32(7), Value::String("m-1"), Value::Int64(-42)}};
  EXPECT_EQ(*back, sorted);
}

TEST(EntityKeyTest, RejectsUnsupportedTypesAndCorruptBytes) {
  auto bad = SerializeEntityKey(EntityKey{{"rate"}, {Value::Double(1.0)}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("rate"), std::string::npos);
  EXPECT_FALSE(SerializeEntityKey(EntityKey{{"a", "b"}, {Value::Int64(1)}}).ok());
  auto good = *SerializeEntityKey(EntityKey{{"id"}, {Value::Int64(1)}});
  EXPECT_EQ(DeserializeEntityKey(good.substr(0, good.size() - 1)).status().code(),
            StatusCode::kCorruption);
  EXPECT_EQ(DeserializeEntityKey(good + "x").status().code(), StatusCode::kCorruption);
}

struct ValueVector {
  Value value;
  std::string hex;
};

TEST(ValueProtoTest, HandComputedBytesForEveryType) {
  const std::vector<ValueVector> vectors = {
      {Value::Null(), ""},
      {Value::Int64(1001), "20 e9 07"},
      {Value::Int64(0), "20 00"},  // oneof members are written even when zero
      {Value::Int32(-1), "18 ff ff ff ff ff ff ff ff ff 01"},
      {Value::Double(1.5), "29 00 00 00 00 00 00 f8 3f"},
      {Value::Float(0.5f), "35 00 00 00 3f"},
      {Value::Bool(true), "38 01"},
      {Value::String("hi"), "12 02 68 69"},
      {Value::Bytes(std::string("\x00\xff", 2)), "0a 02 00 ff"},
      // 1700000000.5 s: the wire holds whole seconds.
      {Value::UnixTimestamp(1'700'000'000'500'000), "40 80 e2 cf aa 06"},
      {Value::FloatList({1.0f, -2.0f}), "82 01 0a 0a 08 00 00 80 3f 00 00 00 c0"},
      {Value::StringList({"a", ""}), "62 05 0a 01 61 0a 00"},
      {Value::Int64List({1, 300}), "72 05 0a 03 01 ac 02"},
      {Value::Int64List({}), "72 00"},
      {Value{ValueType::kBoolList, std::vector<bool>{true, false}}, "8a 01 04 0a 02 01 00"},
      {Value{ValueType::kInt32List, std::vector<int32_t>{-1}},
       "6a 0c 0a 0a ff ff ff ff ff ff ff ff ff 01"},
      {Value::DoubleList({1.5}), "7a 0a 0a 08 00 00 00 00 00 00 f8 3f"},
      {Value{ValueType::kBytesList, std::vector<std::string>{"z"}}, "5a 03 0a 01 7a"},
      {Value{ValueType::kUnixTimestampList, std::vector<int64_t>{2'000'000}}, "92 01 03 0a 01 02"},
  };
  for (const auto& v : vectors) {
    std::string bytes = EncodeValueProto(v.value);
    EXPECT_EQ(Hex(bytes), v.hex) << v.value.ToString();
    auto back = DecodeValueProto(bytes);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    if (v.value.type == ValueType::kUnixTimestamp) {
      EXPECT_EQ(*back, Value::UnixTimestamp(1'700'000'000'000'000));  // sub-second digits dropped
    } else {
      EXPECT_EQ(*back, v.value) << v.value.ToString();
    }
  }
}

TEST(ValueProtoTest, DecodesUnpackedListsNullValAndRejectsTruncation) {
  // Int64List written unpacked (legal protobuf): field 1 varints one by one.
  auto unpacked = DecodeValueProto(std::string("\x72\x04\x08\x01\x08\x02", 6));
  ASSERT_TRUE(unpacked.ok());
  EXPECT_EQ(*unpacked, Value::Int64List({1, 2}));
  auto null_val = DecodeValueProto(std::string("\x98\x01\x00", 3));  // null_val = NULL
  ASSERT_TRUE(null_val.ok());
  EXPECT_TRUE(null_val->is_null());
  EXPECT_EQ(DecodeValueProto("\x12\x05hi").status().code(), StatusCode::kCorruption);
  EXPECT_EQ(DecodeValueProto("\x20").status().code(), StatusCode::kCorruption);
}

TEST(TimestampProtoTest, HandComputedBytes) {
  EXPECT_EQ(Hex(EncodeTimestampProto(0)), "");
  EXPECT_EQ(Hex(EncodeTimestampProto(1'700'000'000'500'000)),
            "08 80 e2 cf aa 06 10 80 ca b5 ee 01");
  // One micro before the epoch: seconds -1, nanos 999999000 (nanos are never negative).
  EXPECT_EQ(Hex(EncodeTimestampProto(-1)), "08 ff ff ff ff ff ff ff ff ff 01 10 98 8c eb dc 03");
  for (TimestampMicros ts :
       {int64_t{0}, int64_t{-1}, int64_t{1'700'000'000'500'000}, int64_t{1'234'567}}) {
    auto back = DecodeTimestampProto(EncodeTimestampProto(ts));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, ts);
  }
}

TEST(TimestampProtoTest, MatchesLibprotobufTimestamp) {
  for (TimestampMicros ts : {int64_t{1'700'000'000'123'456}, int64_t{-5'000'001}}) {
    google::protobuf::Timestamp proto;
    int64_t seconds = ts / 1'000'000;
    int64_t micros = ts % 1'000'000;
    if (micros < 0) {
      micros += 1'000'000;
      --seconds;
    }
    proto.set_seconds(seconds);
    proto.set_nanos(static_cast<int32_t>(micros * 1000));
    EXPECT_EQ(Hex(EncodeTimestampProto(ts)), Hex(proto.SerializeAsString()));
  }
}

TEST(Murmur3Test, KnownVectors) {
  // mmh3's documented examples and the reference SMHasher vectors.
  EXPECT_EQ(Murmur3_32("foo"), 4138058784u);      // mmh3.hash("foo", signed=False)
  EXPECT_EQ(Murmur3_32("foo", 42), 0xb12f489eu);  // mmh3.hash("foo", 42) == -1322301282
  EXPECT_EQ(Murmur3_32(""), 0u);
  EXPECT_EQ(Murmur3_32("", 1), 0x514E28B7u);
  EXPECT_EQ(Murmur3_32("", 0xffffffff), 0x81F16F39u);
  EXPECT_EQ(Murmur3_32(std::string("\0\0\0\0", 4)), 0x2362F9DEu);
  EXPECT_EQ(Murmur3_32("\x21\x43\x65\x87"), 0xF55B516Bu);
  EXPECT_EQ(Murmur3_32("\x21\x43\x65"), 0x7E4A8634u);
  EXPECT_EQ(Murmur3_32("\x21\x43"), 0xA0F7B07Au);
  EXPECT_EQ(Murmur3_32("\x21"), 0x72661CF4u);
  EXPECT_EQ(Murmur3_32("aaaa", 0x9747b28c), 0x5A97808Au);
  EXPECT_EQ(Murmur3_32("Hello, world!", 0x9747b28c), 0x24884CBAu);
  EXPECT_EQ(Murmur3_32("The quick brown fox jumps over the lazy dog", 0x9747b28c), 0x2FA826CDu);
}

TEST(RedisLayoutTest, FieldNames) {
  // 4 little-endian bytes of mmh3("view:feature").
  uint32_t h = Murmur3_32("driver_hourly_stats:conv_rate");
  std::string expected = {static_cast<char>(h), static_cast<char>(h >> 8),
                          static_cast<char>(h >> 16), static_cast<char>(h >> 24)};
  EXPECT_EQ(RedisFeatureField("driver_hourly_stats", "conv_rate"), expected);
  EXPECT_EQ(RedisTimestampField("driver_hourly_stats"), "_ts:driver_hourly_stats");
}

// --- Cross-check against libprotobuf with a runtime copy of feast/types/Value.proto ---

class ValueProtoDescriptor {
 public:
  ValueProtoDescriptor() {
    using google::protobuf::FieldDescriptorProto;
    google::protobuf::FileDescriptorProto file;
    file.set_name("feast/types/Value.proto");
    file.set_package("feast.types");
    file.set_syntax("proto3");
    struct List {
      const char* name;
      FieldDescriptorProto::Type type;
    };
    for (List l : {List{"BytesList", FieldDescriptorProto::TYPE_BYTES},
                   List{"StringList", FieldDescriptorProto::TYPE_STRING},
                   List{"Int32List", FieldDescriptorProto::TYPE_INT32},
                   List{"Int64List", FieldDescriptorProto::TYPE_INT64},
                   List{"DoubleList", FieldDescriptorProto::TYPE_DOUBLE},
                   List{"FloatList", FieldDescriptorProto::TYPE_FLOAT},
                   List{"BoolList", FieldDescriptorProto::TYPE_BOOL}}) {
      auto* m = file.add_message_type();
      m->set_name(l.name);
      auto* f = m->add_field();
      f->set_name("val");
      f->set_number(1);
      f->set_label(FieldDescriptorProto::LABEL_REPEATED);
      f->set_type(l.type);
    }
    auto* value = file.add_message_type();
    value->set_name("Value");
    value->add_oneof_decl()->set_name("val");
    struct Member {
      const char* name;
      int number;
      FieldDescriptorProto::Type type;
      const char* message;
    };
    for (Member m :
         {Member{"bytes_val", 1, FieldDescriptorProto::TYPE_BYTES, nullptr},
          Member{"string_val", 2, FieldDescriptorProto::TYPE_STRING, nullptr},
          Member{"int32_val", 3, FieldDescriptorProto::TYPE_INT32, nullptr},
          Member{"int64_val", 4, FieldDescriptorProto::TYPE_INT64, nullptr},
          Member{"double_val", 5, FieldDescriptorProto::TYPE_DOUBLE, nullptr},
          Member{"float_val", 6, FieldDescriptorProto::TYPE_FLOAT, nullptr},
          Member{"bool_val", 7, FieldDescriptorProto::TYPE_BOOL, nullptr},
          Member{"unix_timestamp_val", 8, FieldDescriptorProto::TYPE_INT64, nullptr},
          Member{"bytes_list_val", 11, FieldDescriptorProto::TYPE_MESSAGE, "BytesList"},
          Member{"string_list_val", 12, FieldDescriptorProto::TYPE_MESSAGE, "StringList"},
          Member{"int32_list_val", 13, FieldDescriptorProto::TYPE_MESSAGE, "Int32List"},
          Member{"int64_list_val", 14, FieldDescriptorProto::TYPE_MESSAGE, "Int64List"},
          Member{"double_list_val", 15, FieldDescriptorProto::TYPE_MESSAGE, "DoubleList"},
          Member{"float_list_val", 16, FieldDescriptorProto::TYPE_MESSAGE, "FloatList"},
          Member{"bool_list_val", 17, FieldDescriptorProto::TYPE_MESSAGE, "BoolList"},
          Member{"unix_timestamp_list_val", 18, FieldDescriptorProto::TYPE_MESSAGE, "Int64List"}}) {
      auto* f = value->add_field();
      f->set_name(m.name);
      f->set_number(m.number);
      f->set_label(FieldDescriptorProto::LABEL_OPTIONAL);
      f->set_type(m.type);
      f->set_oneof_index(0);
      if (m.message) f->set_type_name(std::string(".feast.types.") + m.message);
    }
    file_ = pool_.BuildFile(file);
    descriptor_ = pool_.FindMessageTypeByName("feast.types.Value");
  }

  // libprotobuf's bytes for `value` (UNIX_TIMESTAMP in seconds, as Feast stores it).
  std::string Serialize(const Value& value) {
    std::unique_ptr<google::protobuf::Message> msg(factory_.GetPrototype(descriptor_)->New());
    const auto* refl = msg->GetReflection();
    const auto* d = descriptor_;
    auto field = [&](int number) { return d->FindFieldByNumber(number); };
    auto list = [&](int number) {
      auto* sub = refl->MutableMessage(msg.get(), field(number), &factory_);
      return std::make_pair(sub, sub->GetDescriptor()->FindFieldByNumber(1));
    };
    const auto& data = value.data;
    switch (value.type) {
      case ValueType::kBytes:
        refl->SetString(msg.get(), field(1), std::get<std::string>(data));
        break;
      case ValueType::kString:
        refl->SetString(msg.get(), field(2), std::get<std::string>(data));
        break;
      case ValueType::kInt32:
        refl->SetInt32(msg.get(), field(3), std::get<int32_t>(data));
        break;
      case ValueType::kInt64:
        refl->SetInt64(msg.get(), field(4), std::get<int64_t>(data));
        break;
      case ValueType::kDouble:
        refl->SetDouble(msg.get(), field(5), std::get<double>(data));
        break;
      case ValueType::kFloat:
        refl->SetFloat(msg.get(), field(6), std::get<float>(data));
        break;
      case ValueType::kBool:
        refl->SetBool(msg.get(), field(7), std::get<bool>(data));
        break;
      case ValueType::kUnixTimestamp:
        refl->SetInt64(msg.get(), field(8), std::get<int64_t>(data) / 1'000'000);
        break;
      case ValueType::kBytesList:
      case ValueType::kStringList: {
        auto [sub, f] = list(static_cast<int>(value.type));
        for (const auto& s : std::get<std::vector<std::string>>(data)) {
          sub->GetReflection()->AddString(sub, f, s);
        }
        break;
      }
      case ValueType::kInt32List: {
        auto [sub, f] = list(13);
        for (auto x : std::get<std::vector<int32_t>>(data))
          sub->GetReflection()->AddInt32(sub, f, x);
        break;
      }
      case ValueType::kInt64List: {
        auto [sub, f] = list(14);
        for (auto x : std::get<std::vector<int64_t>>(data))
          sub->GetReflection()->AddInt64(sub, f, x);
        break;
      }
      case ValueType::kDoubleList: {
        auto [sub, f] = list(15);
        for (auto x : std::get<std::vector<double>>(data))
          sub->GetReflection()->AddDouble(sub, f, x);
        break;
      }
      case ValueType::kFloatList: {
        auto [sub, f] = list(16);
        for (auto x : std::get<std::vector<float>>(data)) sub->GetReflection()->AddFloat(sub, f, x);
        break;
      }
      case ValueType::kBoolList: {
        auto [sub, f] = list(17);
        for (bool x : std::get<std::vector<bool>>(data)) sub->GetReflection()->AddBool(sub, f, x);
        break;
      }
      case ValueType::kUnixTimestampList: {
        auto [sub, f] = list(18);
        for (auto x : std::get<std::vector<int64_t>>(data)) {
          sub->GetReflection()->AddInt64(sub, f, x / 1'000'000);
        }
        break;
      }
      default:
        break;
    }
    std::string out;
    msg->SerializeToString(&out);
    return out;
  }

  bool Parses(const std::string& bytes) {
    std::unique_ptr<google::protobuf::Message> msg(factory_.GetPrototype(descriptor_)->New());
    return msg->ParseFromString(bytes);
  }

  bool ok() const { return descriptor_ != nullptr; }

 private:
  google::protobuf::DescriptorPool pool_;
  google::protobuf::DynamicMessageFactory factory_;
  const google::protobuf::FileDescriptor* file_ = nullptr;
  const google::protobuf::Descriptor* descriptor_ = nullptr;
};

TEST(ValueProtoTest, MatchesLibprotobufForEveryType) {
  ValueProtoDescriptor proto;
  ASSERT_TRUE(proto.ok());
  const std::vector<Value> values = {
      Value::Null(),
      Value::Bytes(std::string("\x00\x01\xfe", 3)),
      Value::String("naïve"),
      Value::Int32(0),
      Value::Int32(-123456),
      Value::Int32(2147483647),
      Value::Int64(-1),
      Value::Int64(9'007'199'254'740'993),
      Value::Double(-0.0),
      Value::Double(3.141592653589793),
      Value::Float(-1.25f),
      Value::Bool(false),
      Value::UnixTimestamp(1'700'000'000'000'000),
      Value{ValueType::kBytesList, std::vector<std::string>{"", std::string("\0", 1)}},
      Value::StringList({"x", "yy", ""}),
      Value{ValueType::kInt32List, std::vector<int32_t>{0, -5, 70000}},
      Value::Int64List({-1, 0, 1LL << 40}),
      Value::DoubleList({0.1, -2.5}),
      Value::FloatList({}),
      Value::FloatList(std::vector<float>(128, 0.25f)),
      Value{ValueType::kBoolList, std::vector<bool>{false, true, true}},
      Value{ValueType::kUnixTimestampList, std::vector<int64_t>{0, 1'600'000'000'000'000}},
  };
  for (const Value& v : values) {
    std::string ours = EncodeValueProto(v);
    EXPECT_EQ(Hex(ours), Hex(proto.Serialize(v))) << ValueTypeName(v.type) << " " << v.ToString();
    EXPECT_TRUE(proto.Parses(ours));
    auto back = DecodeValueProto(proto.Serialize(v));
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, v) << ValueTypeName(v.type);
  }
}

}  // namespace
}  // namespace featureforge::online
