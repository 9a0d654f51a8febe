// The built-in hashing embedder ("hashing trick"): no model, no network, same output everywhere.
#include <cctype>
#include <cmath>
#include <cstring>

#include "featureforge/embeddings/embedder.h"

namespace featureforge::embeddings {
namespace {

// Token weights: whole words carry the meaning; bigrams add word order; character n-grams make
// inflections ("embedding" / "embeddings") land close to each other.
constexpr float kWordWeight = 1.0f;
constexpr float kBigramWeight = 0.5f;
constexpr float kCharGramWeight = 0.25f;

// FNV-1a over the bytes, started from a seed-dependent basis and finished with MurmurHash3's
// fmix64 so that every output bit depends on every input bit (bucket and sign use different
// bits).
uint64_t SeededHash(std::string_view bytes, uint64_t seed) {
  uint64_t h = 14695981039346656037ULL ^ (seed * 0x9E3779B97F4A7C15ULL);
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

bool IsWordByte(unsigned char c) { return std::isalnum(c) || c >= 0x80 || c == '_'; }

// Lowercased words: runs of ASCII letters/digits/'_' and any non-ASCII UTF-8 bytes.
std::vector<std::string> Words(std::string_view text) {
  std::vector<std::string> words;
  std::string current;
  for (unsigned char c : text) {
    if (IsWordByte(c)) {
      current.push_back(c < 0x80 ? static_cast<char>(std::tolower(c)) : static_cast<char>(c));
    } else if (!current.empty()) {
      words.push_back(std::move(current));
      current.clear();
    }
  }
  if (!current.empty()) words.push_back(std::move(current));
  return words;
}

// Byte offsets where each UTF-8 character of `s` starts, plus s.size() at the end.
std::vector<size_t> CharStarts(const std::string& s) {
  std::vector<size_t> starts;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) starts.push_back(i);
  }
  starts.push_back(s.size());
  return starts;
}

class HashingEmbedder : public Embedder {
 public:
  explicit HashingEmbedder(const HashingOptions& options) : options_(options) {}

  int dimension() const override { return options_.dimension; }

  Result<std::vector<Vector>> Embed(std::span<const std::string> texts) override {
    std::vector<Vector> out;
    out.reserve(texts.size());
    for (const auto& text : texts) out.push_back(EmbedOne(text));
    return out;
  }

  std::string Describe() const override {
    return "hashing(dim=" + std::to_string(options_.dimension) +
           ",seed=" + std::to_string(options_.seed) + ")";
  }

 private:
  void AddToken(std::string_view kind, std::string_view token, float weight, Vector* v) const {
    std::string key;
    key.reserve(kind.size() + token.size());
    key.append(kind).append(token);
    const uint64_t h = SeededHash(key, static_cast<uint64_t>(options_.seed));
    const size_t bucket = static_cast<size_t>(h % static_cast<uint64_t>(options_.dimension));
    (*v)[bucket] += (h >> 63) ? -weight : weight;
  }

  Vector EmbedOne(std::string_view text) const {
    Vector v(static_cast<size_t>(options_.dimension), 0.0f);
    const std::vector<std::string> words = Words(text);
    for (size_t i = 0; i < words.size(); ++i) {
      AddToken("w:", words[i], kWordWeight, &v);
      if (i + 1 < words.size()) AddToken("b:", words[i] + " " + words[i + 1], kBigramWeight, &v);
      const std::string marked = "<" + words[i] + ">";
      const std::vector<size_t> starts = CharStarts(marked);
      const size_t chars = starts.size() - 1;
      for (int n = options_.char_ngram_min; n <= options_.char_ngram_max; ++n) {
        const size_t len = static_cast<size_t>(n);
        if (len > chars) break;
        for (size_t c = 0; c + len <= chars; ++c) {
          AddToken("c:", std::string_view(marked).substr(starts[c], starts[c + len] - starts[c]),
                   kCharGramWeight, &v);
        }
      }
    }
    return v;
  }

  HashingOptions options_;
};

}  // namespace

std::unique_ptr<Embedder> MakeHashingEmbedder(const HashingOptions& options) {
  return std::make_unique<HashingEmbedder>(options);
}

}  // namespace featureforge::embeddings
