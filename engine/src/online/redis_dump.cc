#include "redis_dump.h"

#include <array>
#include <charconv>

namespace featureforge::online {
namespace {

// Table for the reflected Jones polynomial (0xad93d23594c935a9 bit-reversed).
constexpr std::array<uint64_t, 256> MakeCrc64Table() {
  std::array<uint64_t, 256> table{};
  for (uint64_t i = 0; i < 256; ++i) {
    uint64_t crc = i;
    for (int bit = 0; bit < 8; ++bit)
      crc = (crc & 1) ? (crc >> 1) ^ 0x95ac9329ac4bc9b5ULL : crc >> 1;
    table[i] = crc;
  }
  return table;
}
constexpr std::array<uint64_t, 256> kCrc64Table = MakeCrc64Table();

// A listpack entry holding `s` as a string (encoding byte(s), bytes, backlen).
void AppendListpackString(std::string_view s, std::string* out) {
  const size_t start = out->size();
  const size_t len = s.size();
  if (len < 64) {
    out->push_back(static_cast<char>(0x80 | len));
  } else if (len < 4096) {
    out->push_back(static_cast<char>(0xE0 | (len >> 8)));
    out->push_back(static_cast<char>(len & 0xFF));
  } else {
    out->push_back(static_cast<char>(0xF0));
    for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((len >> (8 * i)) & 0xFF));
  }
  out->append(s);
  // Backlen: the entry's length (encoding + data), big end first, 7 bits per byte, every byte
  // but the first with the high bit set (listpack.c lpEncodeBacklen).
  const uint64_t l = out->size() - start;
  if (l <= 127) {
    out->push_back(static_cast<char>(l));
  } else if (l < 16383) {
    out->push_back(static_cast<char>(l >> 7));
    out->push_back(static_cast<char>((l & 127) | 128));
  } else if (l < 2097151) {
    out->push_back(static_cast<char>(l >> 14));
    out->push_back(static_cast<char>(((l >> 7) & 127) | 128));
    out->push_back(static_cast<char>((l & 127) | 128));
  } else if (l < 268435455) {
    out->push_back(static_cast<char>(l >> 21));
    out->push_back(static_cast<char>(((l >> 14) & 127) | 128));
    out->push_back(static_cast<char>(((l >> 7) & 127) | 128));
    out->push_back(static_cast<char>((l & 127) | 128));
  } else {
    out->push_back(static_cast<char>(l >> 28));
    out->push_back(static_cast<char>(((l >> 21) & 127) | 128));
    out->push_back(static_cast<char>(((l >> 14) & 127) | 128));
    out->push_back(static_cast<char>(((l >> 7) & 127) | 128));
    out->push_back(static_cast<char>((l & 127) | 128));
  }
}

// RDB length encoding (rdb.c rdbSaveLen).
void AppendRdbLength(uint64_t len, std::string* out) {
  if (len < 64) {
    out->push_back(static_cast<char>(len));
  } else if (len < 16384) {
    out->push_back(static_cast<char>(0x40 | (len >> 8)));
    out->push_back(static_cast<char>(len & 0xFF));
  } else if (len <= 0xFFFFFFFFULL) {
    out->push_back(static_cast<char>(0x80));
    for (int i = 3; i >= 0; --i) out->push_back(static_cast<char>((len >> (8 * i)) & 0xFF));
  } else {
    out->push_back(static_cast<char>(0x81));
    for (int i = 7; i >= 0; --i) out->push_back(static_cast<char>((len >> (8 * i)) & 0xFF));
  }
}

void AppendLittleEndian(uint64_t v, int bytes, std::string* out) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

constexpr char kRdbTypeHashListpack = 16;

}  // namespace

uint64_t RedisCrc64(uint64_t crc, std::string_view data) {
  for (unsigned char byte : data) crc = kCrc64Table[(crc ^ byte) & 0xFF] ^ (crc >> 8);
  return crc;
}

void AppendHashDumpPayload(const std::vector<std::pair<std::string_view, std::string_view>>& pairs,
                           std::string* out, std::string* scratch, uint16_t rdb_version) {
  // The listpack: total bytes (u32 LE), element count (u16 LE; 65535 = "count it"), entries,
  // 0xFF terminator.
  std::string& lp = *scratch;
  lp.assign(6, '\0');
  for (const auto& [field, value] : pairs) {
    AppendListpackString(field, &lp);
    AppendListpackString(value, &lp);
  }
  lp.push_back(static_cast<char>(0xFF));
  const uint64_t total = lp.size();
  const uint64_t elements = std::min<uint64_t>(pairs.size() * 2, 65535);
  for (int i = 0; i < 4; ++i) lp[i] = static_cast<char>((total >> (8 * i)) & 0xFF);
  lp[4] = static_cast<char>(elements & 0xFF);
  lp[5] = static_cast<char>((elements >> 8) & 0xFF);

  const size_t start = out->size();
  out->push_back(kRdbTypeHashListpack);
  AppendRdbLength(lp.size(), out);
  out->append(lp);
  AppendLittleEndian(rdb_version, 2, out);
  const uint64_t crc = RedisCrc64(0, std::string_view(out->data() + start, out->size() - start));
  AppendLittleEndian(crc, 8, out);
}

void AppendRespCommand(std::initializer_list<std::string_view> args, std::string* out) {
  char digits[24];
  auto append_number = [&](char prefix, size_t n) {
    out->push_back(prefix);
    auto [end, ec] = std::to_chars(digits, digits + sizeof(digits), n);
    (void)ec;
    out->append(digits, end);
    out->append("\r\n");
  };
  append_number('*', args.size());
  for (std::string_view arg : args) {
    append_number('$', arg.size());
    out->append(arg);
    out->append("\r\n");
  }
}

}  // namespace featureforge::online
