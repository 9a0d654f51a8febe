// Shared pieces: truncation, normalization, and building a view's embedder from its definition.
#include "featureforge/embeddings/embedder.h"

#include <cmath>
#include <cstdlib>

namespace featureforge::embeddings {
namespace {

class PostprocessingEmbedder : public Embedder {
 public:
  PostprocessingEmbedder(std::unique_ptr<Embedder> inner, int max_chars, bool normalize)
      : inner_(std::move(inner)), max_chars_(max_chars), normalize_(normalize) {}

  int dimension() const override { return inner_->dimension(); }
  std::string Describe() const override { return inner_->Describe(); }

  Result<std::vector<Vector>> Embed(std::span<const std::string> texts) override {
    std::vector<std::string> truncated;
    std::span<const std::string> input = texts;
    if (max_chars_ > 0) {
      truncated.reserve(texts.size());
      for (const auto& t : texts) {
        truncated.emplace_back(TruncateUtf8(t, static_cast<size_t>(max_chars_)));
      }
      input = truncated;
    }
    FF_ASSIGN_OR_RETURN(std::vector<Vector> vectors, inner_->Embed(input));
    if (normalize_) {
      for (auto& v : vectors) L2Normalize(&v);
    }
    return vectors;
  }

 private:
  std::unique_ptr<Embedder> inner_;
  int max_chars_;
  bool normalize_;
};

}  // namespace

std::string_view TruncateUtf8(std::string_view text, size_t max_chars) {
  size_t chars = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
      if (chars == max_chars) return text.substr(0, i);
      ++chars;
    }
  }
  return text;
}

void L2Normalize(Vector* v) {
  double sum = 0;
  for (float x : *v) sum += static_cast<double>(x) * x;
  if (sum <= 0 || !std::isfinite(sum)) return;
  const float scale = static_cast<float>(1.0 / std::sqrt(sum));
  for (float& x : *v) x *= scale;
}

std::unique_ptr<Embedder> WithPostprocessing(std::unique_ptr<Embedder> inner, int max_chars,
                                             bool normalize) {
  return std::make_unique<PostprocessingEmbedder>(std::move(inner), max_chars, normalize);
}

Result<std::unique_ptr<Embedder>> MakeEmbedder(const repo::EmbeddingConfig& config,
                                               const std::string& view_name) {
  const std::string context = "view '" + view_name + "'";
  if (config.dimension <= 0) {
    return Status::InvalidArgument(context + ": embedding.dimension must be positive");
  }
  std::unique_ptr<Embedder> inner;
  if (config.embedder == "hashing") {
    HashingOptions options;
    options.dimension = config.dimension;
    options.seed = config.seed;
    inner = MakeHashingEmbedder(options);
  } else if (config.embedder == "openai") {
    OpenAiOptions options;
    options.endpoint = config.endpoint;
    options.model = config.model;
    options.dimension = config.dimension;
    options.batch_size = config.batch_size;
    options.timeout_seconds = config.timeout_seconds;
    options.max_retries = config.max_retries;
    options.context = context;
    if (!config.api_key_env.empty()) {
      const char* key = std::getenv(config.api_key_env.c_str());
      if (key == nullptr || *key == '\0') {
        return Status::InvalidArgument(context + ": embedding.api_key_env names " +
                                       config.api_key_env +
                                       ", which is not set in the environment");
      }
      options.api_key = key;
    }
    inner = MakeOpenAiEmbedder(options);
  } else {
    return Status::InvalidArgument(context + ": unknown embedder '" + config.embedder + "'");
  }
  return WithPostprocessing(std::move(inner), config.max_length, config.normalize);
}

}  // namespace featureforge::embeddings
