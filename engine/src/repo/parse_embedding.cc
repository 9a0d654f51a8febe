// `embedding:` and `vector_index:` blocks of batch feature views. Cross-field checks that need
// the schema (output dtype, source column type) run in CheckEmbeddingView after the schema is
// split into keys and features.
#include <cctype>

#include "load_state.h"
#include "yaml_reader.h"

namespace featureforge::repo {
namespace {

// Reads an integer field into `out` when present and within [min, max].
void IntIn(MapReader& reader, const std::string& field, int64_t min, int64_t max, int* out) {
  auto value = reader.Int(field);
  if (!value) return;
  if (*value < min || *value > max) {
    reader.Report(field, "must be from " + std::to_string(min) + " to " + std::to_string(max) +
                             ", got " + std::to_string(*value));
    return;
  }
  *out = static_cast<int>(*value);
}

std::string Upper(std::string text) {
  for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

void ParseEmbedding(MapReader& reader, EmbeddingConfig* config, FieldLines* lines) {
  reader.CheckFields({"source_column", "output", "embedder", "model", "endpoint", "api_key_env",
                      "dimension", "normalize", "batch_size", "max_length", "seed",
                      "timeout_seconds", "max_retries"});
  lines->emplace("embedding", reader.line());
  config->source_column = reader.String("source_column", true).value_or("");
  config->output = reader.String("output", true).value_or("");
  lines->emplace("embedding.output", reader.LineOf("output"));
  lines->emplace("embedding.source_column", reader.LineOf("source_column"));
  if (auto embedder = reader.String("embedder")) {
    if (*embedder == "hashing" || *embedder == "openai") {
      config->embedder = *embedder;
    } else {
      reader.Report("embedder", "unknown embedder '" + *embedder + "' (hashing or openai)" +
                                    DidYouMean(*embedder, {"hashing", "openai"}));
    }
  }
  config->model = reader.String("model").value_or("");
  config->endpoint = reader.String("endpoint").value_or("");
  config->api_key_env = reader.String("api_key_env").value_or("");
  if (!reader.Has("dimension")) {
    reader.Report("dimension", "missing required field");
  } else {
    IntIn(reader, "dimension", 1, 65536, &config->dimension);
  }
  config->normalize = reader.Bool("normalize").value_or(true);
  IntIn(reader, "batch_size", 1, 100000, &config->batch_size);
  IntIn(reader, "max_length", 0, 100000000, &config->max_length);
  if (auto seed = reader.Int("seed")) config->seed = *seed;
  IntIn(reader, "timeout_seconds", 1, 3600, &config->timeout_seconds);
  IntIn(reader, "max_retries", 0, 100, &config->max_retries);
  if (config->embedder == "openai") {
    if (config->model.empty()) reader.Report("model", "required with embedder: openai");
    if (config->endpoint.empty()) {
      reader.Report("endpoint", "required with embedder: openai (e.g. http://host:8000/v1)");
    } else if (config->endpoint.rfind("http://", 0) != 0 &&
               config->endpoint.rfind("https://", 0) != 0) {
      reader.Report("endpoint", "'" + config->endpoint + "' must start with http:// or https://");
    }
  } else {
    for (const char* field :
         {"model", "endpoint", "api_key_env", "timeout_seconds", "max_retries"}) {
      if (reader.Has(field)) reader.Report(field, "only used with embedder: openai");
    }
  }
  if (config->embedder != "hashing" && reader.Has("seed")) {
    reader.Report("seed", "only used with embedder: hashing");
  }
}

void ParseVectorIndex(MapReader& reader, VectorIndexConfig* config) {
  reader.CheckFields({"metric", "M", "ef_construction", "ef_search", "exact"});
  if (auto metric = reader.String("metric")) {
    const std::string upper = Upper(*metric);
    if (upper == "COSINE") {
      config->metric = VectorMetric::kCosine;
    } else if (upper == "L2") {
      config->metric = VectorMetric::kL2;
    } else if (upper == "IP") {
      config->metric = VectorMetric::kInnerProduct;
    } else {
      reader.Report("metric", "unknown metric '" + *metric + "' (COSINE, L2 or IP)" +
                                  DidYouMean(upper, {"COSINE", "L2", "IP"}));
    }
  }
  IntIn(reader, "M", 2, 1000, &config->m);
  IntIn(reader, "ef_construction", 1, 100000, &config->ef_construction);
  IntIn(reader, "ef_search", 1, 100000, &config->ef_search);
  config->exact = reader.Bool("exact").value_or(false);
}

}  // namespace

void ParseEmbeddingBlocks(MapReader& reader, FeatureView* view, FieldLines* lines) {
  const bool has_embedding = reader.Has("embedding");
  if (has_embedding) {
    if (auto block = reader.Nested("embedding")) {
      EmbeddingConfig config;
      ParseEmbedding(*block, &config, lines);
      view->embedding = config;
      view->vector_index = VectorIndexConfig{};
    }
  }
  if (reader.Has("vector_index")) {
    if (!has_embedding) {
      reader.Report("vector_index", "needs an `embedding:` block (the vectors it indexes)");
    }
    if (auto block = reader.Nested("vector_index")) {
      VectorIndexConfig config;
      ParseVectorIndex(*block, &config);
      if (view->embedding) view->vector_index = config;
    }
  }
}

void CheckEmbeddingView(
    const FeatureView& view, const FieldLines& lines, const std::vector<SchemaEntry>& schema,
    const std::function<void(const std::string&, int, const std::string&)>& report) {
  if (!view.embedding) return;
  const EmbeddingConfig& config = *view.embedding;
  auto line_of = [&](const std::string& field) {
    auto it = lines.find(field);
    return it != lines.end() ? it->second : 0;
  };
  if (!config.output.empty()) {
    const Field* output = view.FindFeature(config.output);
    if (output == nullptr) {
      report("embedding.output", line_of("embedding.output"),
             "'" + config.output +
                 "' is not a feature of the schema (add it with dtype "
                 "Array(Float32))");
    } else if (output->type != ValueType::kFloatList) {
      report("embedding.output", line_of("embedding.output"),
             "feature '" + config.output + "' must have dtype Array(Float32), got " +
                 std::string(ValueTypeName(output->type)));
    }
  }
  if (!config.source_column.empty()) {
    if (config.source_column == config.output) {
      report("embedding.source_column", line_of("embedding.source_column"),
             "must differ from output '" + config.output + "'");
    }
    for (const auto& entry : schema) {
      if (entry.field.name == config.source_column && entry.field.type != ValueType::kString &&
          entry.field.type != ValueType::kInvalid) {
        report("embedding.source_column", line_of("embedding.source_column"),
               "column '" + config.source_column + "' is " +
                   std::string(ValueTypeName(entry.field.type)) + " in the schema; text is String");
      }
    }
  }
}

}  // namespace featureforge::repo
