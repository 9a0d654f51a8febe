// Embedders turn texts into fixed-length float vectors for embedding feature views.
// Two implementations: a deterministic hashing embedder (built in; the offline default and the
// one tests use) and a client for OpenAI-compatible `/v1/embeddings` HTTP endpoints.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "featureforge/common/status.h"
#include "featureforge/repo/model.h"

namespace featureforge::embeddings {

using Vector = std::vector<float>;

class Embedder {
 public:
  virtual ~Embedder() = default;
  // Length of every vector Embed returns.
  virtual int dimension() const = 0;
  // One vector per text, same order. Implementations split `texts` into requests of their
  // batch size themselves. Errors name the embedder and what failed.
  virtual Result<std::vector<Vector>> Embed(std::span<const std::string> texts) = 0;
  // "hashing(dim=64,seed=0)", "openai(model=..., endpoint=...)" for logs and errors.
  virtual std::string Describe() const = 0;
};

struct HashingOptions {
  int dimension = 384;
  int64_t seed = 0;
  // Character n-grams of each word (with '<' '>' boundary marks) in [min, max] length.
  int char_ngram_min = 3;
  int char_ngram_max = 4;
};

// Feature hashing of lowercased words, word bigrams and character n-grams: every token is
// hashed with a seeded 64-bit hash into one of `dimension` buckets with a sign taken from the
// hash, so equal texts give equal vectors on every machine and shared words give close ones.
// Text that has no tokens (empty, only punctuation) gives the zero vector.
std::unique_ptr<Embedder> MakeHashingEmbedder(const HashingOptions& options);

struct OpenAiOptions {
  std::string endpoint;  // base URL ("http://host:8000/v1"); "/embeddings" is appended
                         // unless the URL already ends with it
  std::string model;
  std::string api_key;           // sent as "Authorization: Bearer ..." when not empty
  int dimension = 0;             // every returned vector must have this length
  int batch_size = 64;           // texts per request
  int timeout_seconds = 30;      // per request (connect + transfer)
  int max_retries = 5;           // on 429, 5xx and connection errors/timeouts
  int initial_backoff_ms = 200;  // doubled per retry, capped at max_backoff_ms; Retry-After
  int max_backoff_ms = 5000;     // (seconds) is honoured up to the cap
  std::string context;           // prefix for errors, e.g. "view 'docs'"
};

// A client of an OpenAI-compatible embeddings endpoint over libcurl: POST {"model", "input"}
// per batch, vectors taken from data[].embedding ordered by data[].index. 4xx other than 429
// fail at once (InvalidArgument, with the server's error message); exhausted retries give
// Unavailable (or Timeout when the last attempt timed out).
std::unique_ptr<Embedder> MakeOpenAiEmbedder(const OpenAiOptions& options);

// Wraps an embedder: truncates texts to `max_chars` Unicode characters first (0 = none) and
// L2-normalizes the results when `normalize` (zero vectors stay zero).
std::unique_ptr<Embedder> WithPostprocessing(std::unique_ptr<Embedder> inner, int max_chars,
                                             bool normalize);

// The embedder a view's `embedding:` block describes, with truncation and normalization.
// The API key is read from the environment variable `api_key_env` names; a variable that is
// named but unset is InvalidArgument naming the view and the variable.
Result<std::unique_ptr<Embedder>> MakeEmbedder(const repo::EmbeddingConfig& config,
                                               const std::string& view_name);

// The first `max_chars` Unicode characters of UTF-8 `text` (never splits a character).
std::string_view TruncateUtf8(std::string_view text, size_t max_chars);
// Scales `v` to unit L2 norm; leaves a zero vector alone.
void L2Normalize(Vector* v);

}  // namespace featureforge::embeddings
