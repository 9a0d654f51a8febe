#include "redis_dump.h"

#include <array>
#include <charconv>

namespace featureforge::online {
namespace {

// Slice-by-8 tables for the reflected Jones polynomial (0xad93d23594c935a9 bit-reversed):
// table[0] is the classic byte table, table[k] advances a byte through k more zero bytes.
using Crc64Tables = std::array<std::array<uint64_t, 256>, 8>;
constexpr Crc64Tables MakeCrc64Tables() {
  Crc64Tables tables{};
  for (uint64_t i = 0; i < 256; ++i) {
    uint64_t crc = i;
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc & 1) ? (crc >> 1) ^ 0x95ac9329ac4bc9b5ULL : crc >> 1;
    }
    tables[0][i] = crc;
  }
  for (int k = 1; k < 8; ++k) {
    for (int i = 0; i < 256; ++i) {
      tables[k][i] = (tables[k - 1][i] >> 8) ^ tables[0][tables[k - 1][i] & 0xFF];
    }
  }
  return tables;
}
constexpr Crc64Tables kCrc64Tables = MakeCrc64Tables();

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
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  size_t n = data.size();
  const auto& t = kCrc64Tables;
  for (; n >= 8; n -= 8, p += 8) {
    uint64_t word = 0;
    for (int i = 7; i >= 0; --i) word = (word << 8) | p[i];  // little-endian load
    crc ^= word;
    crc = t[7][crc & 0xFF] ^ t[6][(crc >> 8) & 0xFF] ^ t[5][(crc >> 16) & 0xFF] ^
          t[4][(crc >> 24) & 0xFF] ^ t[3][(crc >> 32) & 0xFF] ^ t[2][(crc >> 40) & 0xFF] ^
          t[1][(crc >> 48) & 0xFF] ^ t[0][crc >> 56];
  }
  for (; n > 0; --n, ++p) crc = t[0][(crc ^ *p) & 0xFF] ^ (crc >> 8);
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
