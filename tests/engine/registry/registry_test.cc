#include "featureforge/registry/registry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "registry_fixtures.h"

namespace featureforge::registry {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "ff_registry_XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code error;
    fs::remove_all(path_, error);
  }
  std::string Path(const std::string& name) const { return (path_ / name).string(); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary) << data;
}

repo::FeatureView MakeView(const std::string& name, const std::string& feature) {
  repo::FeatureView view;
  view.name = name;
  view.entities = {"driver"};
  view.ttl = 3600 * kMicrosPerSecond;
  view.features = {{feature, ValueType::kFloat, "a feature", {{"pii", "no"}}}};
  view.source = "stats";
  view.location = {"defs.yaml", 10};
  return view;
}

repo::Repo SampleRepo() {
  repo::Repo repo;
  repo.config.project = "rides";
  repo::Entity driver;
  driver.name = "driver";
  driver.join_keys = {"driver_id"};
  driver.value_type = ValueType::kInt64;
  driver.tags = {{"team", "ops"}};
  repo.entities = {driver};
  repo::DataSource stats;
  stats.name = "stats";
  stats.path = "data/stats.csv";
  stats.format = repo::FileFormat::kCsv;
  stats.created_timestamp_column = "created";
  stats.field_mapping = {{"c", "conv_rate"}};
  repo.sources = {stats};
  repo::FeatureView batch = MakeView("daily", "max_conv");
  batch.source.clear();
  batch.is_batch = true;
  batch.query = "SELECT * FROM stats";
  batch.query_sources = {"stats"};
  batch.path = "data/daily.parquet";
  batch.online = false;
  repo.feature_views = {MakeView("hourly", "conv_rate"), batch};
  repo::FeatureService service;
  service.name = "ranking";
  service.projections = {{"hourly", {"conv_rate"}}, {"daily", {}}};
  repo.feature_services = {service};
  return repo;
}

TEST(RegistryTest, RoundTripKeepsEverything) {
  TempDir dir;
  Registry registry;
  EXPECT_TRUE(registry.empty());
  ApplyResult applied = registry.Apply(SampleRepo(), 1000);
  EXPECT_THAT(applied.feature_views.created, ElementsAre("daily", "hourly"));
  EXPECT_THAT(applied.entities.created, ElementsAre("driver"));
  EXPECT_THAT(applied.sources.created, ElementsAre("stats"));
  EXPECT_THAT(applied.feature_services.created, ElementsAre("ranking"));
  ASSERT_TRUE(registry.RecordMaterialization("hourly", 10, 20, 5, 2000).ok());
  ASSERT_TRUE(registry.RecordMaterialization("hourly", 21, 40, 7, 3000).ok());

  const std::string path = dir.Path("sub/dir/registry.pb");  // folders are created
  ASSERT_TRUE(registry.Save(path).ok());
  auto loaded = Registry::Load(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_FALSE(loaded->empty());
  EXPECT_EQ(loaded->project(), "rides");
  EXPECT_EQ(loaded->last_updated(), 3000);

  auto entities = loaded->entities();
  ASSERT_EQ(entities.size(), 1u);
  EXPECT_EQ(entities[0].join_keys, std::vector<std::string>{"driver_id"});
  EXPECT_EQ(entities[0].value_type, ValueType::kInt64);
  EXPECT_EQ(entities[0].tags.at("team"), "ops");

  auto sources = loaded->sources();
  ASSERT_EQ(sources.size(), 1u);
  EXPECT_EQ(sources[0].format, repo::FileFormat::kCsv);
  EXPECT_EQ(sources[0].created_timestamp_column, "created");
  EXPECT_EQ(sources[0].field_mapping.at("c"), "conv_rate");

  auto hourly = loaded->feature_view("hourly");
  ASSERT_TRUE(hourly.has_value());
  EXPECT_EQ(hourly->view.ttl, 3600 * kMicrosPerSecond);
  ASSERT_EQ(hourly->view.features.size(), 1u);
  EXPECT_EQ(hourly->view.features[0].type, ValueType::kFloat);
  EXPECT_EQ(hourly->view.features[0].tags.at("pii"), "no");
  EXPECT_EQ(hourly->view.location.ToString(), "defs.yaml:10");
  EXPECT_THAT(hourly->intervals, ElementsAre(MaterializationInterval{10, 20, 5, 2000},
                                             MaterializationInterval{21, 40, 7, 3000}));
  EXPECT_EQ(hourly->rows_written, 12);
  EXPECT_EQ(hourly->last_materialized_end, 40);
  EXPECT_EQ(hourly->created_at, 1000);
  EXPECT_EQ(loaded->LastMaterializedEnd("hourly"), 40);

  auto daily = loaded->feature_view("daily");
  ASSERT_TRUE(daily.has_value());
  EXPECT_TRUE(daily->view.is_batch);
  EXPECT_FALSE(daily->view.online);
  EXPECT_EQ(daily->view.query, "SELECT * FROM stats");
  EXPECT_EQ(daily->view.path, "data/daily.parquet");
  EXPECT_EQ(daily->view.query_sources, std::vector<std::string>{"stats"});
  EXPECT_THAT(daily->intervals, IsEmpty());
  EXPECT_EQ(loaded->LastMaterializedEnd("daily"), std::nullopt);

  auto services = loaded->feature_services();
  ASSERT_EQ(services.size(), 1u);
  ASSERT_EQ(services[0].projections.size(), 2u);
  EXPECT_EQ(services[0].projections[0].features, std::vector<std::string>{"conv_rate"});
  EXPECT_TRUE(services[0].projections[1].features.empty());

  // Nothing but the registry is left in the folder (no temp files).
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.Path("sub/dir")), fs::directory_iterator()),
            1);
}

TEST(RegistryTest, ApplyKeepsWatermarksOfViewsThatStillExist) {
  Registry registry;
  registry.Apply(SampleRepo(), 1000);
  ASSERT_TRUE(registry.RecordMaterialization("hourly", 0, 100, 3, 1500).ok());
  ASSERT_TRUE(registry.RecordMaterialization("daily", 0, 50, 1, 1500).ok());

  // Same definitions (only moved in their file): nothing changes.
  repo::Repo same = SampleRepo();
  same.feature_views[0].location.line = 99;
  ApplyResult unchanged = registry.Apply(same, 2000);
  EXPECT_FALSE(unchanged.changed());
  EXPECT_THAT(unchanged.feature_views.unchanged, ElementsAre("daily", "hourly"));
  EXPECT_EQ(registry.feature_view("hourly")->updated_at, 1000);

  // hourly changes its schema, daily is deleted, weekly is new, the service goes away.
  repo::Repo next = SampleRepo();
  next.feature_views[0].features.push_back({"acc_rate", ValueType::kDouble, "", {}});
  next.feature_views[1] = MakeView("weekly", "w");
  next.feature_services.clear();
  next.entities[0].description = "now described";
  ApplyResult result = registry.Apply(next, 3000);
  EXPECT_TRUE(result.changed());
  EXPECT_FALSE(result.project_changed);
  EXPECT_THAT(result.feature_views.updated, ElementsAre("hourly"));
  EXPECT_THAT(result.feature_views.deleted, ElementsAre("daily"));
  EXPECT_THAT(result.feature_views.created, ElementsAre("weekly"));
  EXPECT_THAT(result.feature_services.deleted, ElementsAre("ranking"));
  EXPECT_THAT(result.entities.updated, ElementsAre("driver"));
  EXPECT_THAT(result.sources.unchanged, ElementsAre("stats"));

  EXPECT_EQ(registry.LastMaterializedEnd("hourly"), 100);
  EXPECT_EQ(registry.feature_view("hourly")->view.features.size(), 2u);
  EXPECT_EQ(registry.feature_view("hourly")->created_at, 1000);
  EXPECT_EQ(registry.feature_view("hourly")->updated_at, 3000);
  EXPECT_FALSE(registry.feature_view("daily").has_value());
  EXPECT_EQ(registry.LastMaterializedEnd("weekly"), std::nullopt);

  // A view deleted and re-created starts from scratch.
  registry.Apply(SampleRepo(), 4000);
  EXPECT_EQ(registry.LastMaterializedEnd("daily"), std::nullopt);
  EXPECT_EQ(registry.LastMaterializedEnd("hourly"), 100);
}

TEST(RegistryTest, AnotherProjectReplacesEverything) {
  Registry registry;
  registry.Apply(SampleRepo(), 1000);
  ASSERT_TRUE(registry.RecordMaterialization("hourly", 0, 100, 3, 1500).ok());
  repo::Repo other = SampleRepo();
  other.config.project = "other";
  ApplyResult result = registry.Apply(other, 2000);
  EXPECT_TRUE(result.project_changed);
  EXPECT_THAT(result.feature_views.created, ElementsAre("daily", "hourly"));
  EXPECT_EQ(registry.project(), "other");
  EXPECT_EQ(registry.LastMaterializedEnd("hourly"), std::nullopt);
}

TEST(RegistryTest, RecordMaterializationValidates) {
  Registry registry;
  registry.Apply(SampleRepo(), 1000);
  Status backwards = registry.RecordMaterialization("hourly", 20, 10, 1, 1);
  EXPECT_EQ(backwards.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(backwards.message(), HasSubstr("after end"));
  EXPECT_EQ(registry.RecordMaterialization("hourly", 0, 10, -1, 1).code(),
            StatusCode::kInvalidArgument);
  Status unknown = registry.RecordMaterialization("nope", 0, 10, 1, 1);
  EXPECT_EQ(unknown.code(), StatusCode::kNotFound);
  EXPECT_THAT(unknown.message(), HasSubstr("'nope'"));
  EXPECT_TRUE(registry.feature_view("hourly")->intervals.empty());
  // A single instant is a valid window; the watermark is the latest end, not the last recorded.
  ASSERT_TRUE(registry.RecordMaterialization("hourly", 50, 50, 0, 2).ok());
  ASSERT_TRUE(registry.RecordMaterialization("hourly", 0, 10, 1, 3).ok());
  EXPECT_EQ(registry.LastMaterializedEnd("hourly"), 50);
}

TEST(RegistryTest, MissingFileIsNotFound) {
  TempDir dir;
  auto loaded = Registry::Load(dir.Path("registry.pb"));
  EXPECT_EQ(loaded.status().code(), StatusCode::kNotFound);
  auto empty = Registry::LoadOrEmpty(dir.Path("registry.pb"));
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(RegistryTest, CorruptFilesAreCorruptionNamingTheFile) {
  TempDir dir;
  Registry registry;
  registry.Apply(SampleRepo(), 1000);
  const std::string good = dir.Path("good.pb");
  ASSERT_TRUE(registry.Save(good).ok());
  const std::string bytes = ReadFile(good);

  std::string flipped = bytes;
  flipped[bytes.size() / 2 + 10] ^= 0x5A;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"garbage", "this is not a registry at all"},
      {"empty", ""},
      {"truncated", bytes.substr(0, bytes.size() - 7)},
      {"flipped", flipped},
      {"extended", bytes + "tail"},
  };
  for (const auto& [name, content] : cases) {
    const std::string path = dir.Path(name + ".pb");
    WriteFile(path, content);
    auto loaded = Registry::Load(path);
    EXPECT_EQ(loaded.status().code(), StatusCode::kCorruption) << name;
    EXPECT_THAT(loaded.status().message(), HasSubstr(path)) << name;
  }
  EXPECT_TRUE(Registry::Load(good).ok());
  EXPECT_EQ(Registry::LoadOrEmpty(dir.Path("garbage.pb")).status().code(), StatusCode::kCorruption);
}

TEST(RegistryTest, UnknownSchemesAreNotSupportedNamingTheUri) {
  Registry registry;
  Status saved = registry.Save("gs://bucket/registry.pb");
  EXPECT_EQ(saved.code(), StatusCode::kNotSupported);
  EXPECT_THAT(saved.message(), HasSubstr("gs://bucket/registry.pb"));
  EXPECT_EQ(Registry::Load("gs://bucket/registry.pb").status().code(), StatusCode::kNotSupported);
}

TEST(RegistryTest, FileUrisAreLocalFiles) {
  TempDir dir;
  const std::string uri = "file://" + dir.Path("sub/registry.pb");
  ASSERT_TRUE(Registry::Update(uri, [](Registry& registry) {
                registry.Apply(SampleRepo(), 1000);
                return Status::OK();
              }).ok());
  EXPECT_TRUE(fs::exists(dir.Path("sub/registry.pb")));
  EXPECT_EQ(Registry::Load(uri)->project(), "rides");
}

TEST(RegistryTest, SaveOverwritesAtomically) {
  TempDir dir;
  const std::string path = dir.Path("registry.pb");
  Registry first;
  first.Apply(SampleRepo(), 1000);
  ASSERT_TRUE(first.Save(path).ok());
  Registry second = first;
  ASSERT_TRUE(second.RecordMaterialization("hourly", 0, 5, 1, 2000).ok());
  ASSERT_TRUE(second.Save(path).ok());
  EXPECT_EQ(Registry::Load(path)->LastMaterializedEnd("hourly"), 5);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);
}

// A save that fails mid-write (file size limit hit, as on a full disk) leaves the old registry
// readable and no temp file behind. Runs in a child so the limit does not leak into the test.
TEST(RegistryTest, FailedSaveLeavesOldFileIntact) {
  TempDir dir;
  const std::string path = dir.Path("registry.pb");
  Registry old_registry;
  old_registry.Apply(SampleRepo(), 1000);
  ASSERT_TRUE(old_registry.Save(path).ok());
  const std::string old_bytes = ReadFile(path);

  repo::Repo big = SampleRepo();
  for (int i = 0; i < 2000; ++i) {
    big.feature_views.push_back(MakeView("view_" + std::to_string(i), "feature"));
  }
  Registry new_registry;
  new_registry.Apply(big, 2000);

  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    signal(SIGXFSZ, SIG_IGN);  // writes past the limit fail with EFBIG instead of killing us
    rlimit limit{4096, 4096};
    setrlimit(RLIMIT_FSIZE, &limit);
    Status status = new_registry.Save(path);
    _exit(!status.ok() && status.code() == StatusCode::kIOError &&
                  status.message().find(path) != std::string::npos
              ? 0
              : 1);
  }
  int wait_status = 0;
  ASSERT_EQ(waitpid(child, &wait_status, 0), child);
  ASSERT_TRUE(WIFEXITED(wait_status));
  EXPECT_EQ(WEXITSTATUS(wait_status), 0) << "Save should have failed with IOError";

  EXPECT_EQ(ReadFile(path), old_bytes);
  auto loaded = Registry::Load(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->feature_views().size(), 2u);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);

  // Without the limit the same save works.
  ASSERT_TRUE(new_registry.Save(path).ok());
  EXPECT_EQ(Registry::Load(path)->feature_views().size(), 2002u);
}

TEST(RegistryTest, ConcurrentUpdatesFromProcessesLoseNothing) {
  TempDir dir;
  const std::string path = dir.Path("registry.pb");
  ASSERT_TRUE(Registry::Update(path, [](Registry& registry) {
                registry.Apply(SampleRepo(), 1000);
                return Status::OK();
              }).ok());
  constexpr int kProcesses = 6;
  constexpr int kRecordsEach = 10;
  EXPECT_TRUE(testing::RecordFromProcesses(path, kProcesses, kRecordsEach));
  auto loaded = Registry::Load(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->feature_view("hourly")->intervals.size(), size_t{kProcesses * kRecordsEach});
  EXPECT_EQ(loaded->feature_view("hourly")->rows_written, kProcesses * kRecordsEach);
}

TEST(RegistryTest, FailedUpdateSavesNothing) {
  TempDir dir;
  const std::string path = dir.Path("registry.pb");
  ASSERT_TRUE(Registry::Update(path, [](Registry& registry) {
                registry.Apply(SampleRepo(), 1000);
                return Status::OK();
              }).ok());
  Status status = Registry::Update(path, [](Registry& registry) {
    registry.Apply(repo::Repo{}, 2000);                           // would wipe everything...
    return registry.RecordMaterialization("hourly", 0, 1, 1, 1);  // ...but this fails
  });
  EXPECT_EQ(status.code(), StatusCode::kNotFound);
  EXPECT_EQ(Registry::Load(path)->feature_views().size(), 2u);
}

TEST(RegistryTest, SaveIntoUnwritablePlaceFails) {
  TempDir dir;
  WriteFile(dir.Path("a_file"), "x");
  Registry registry;
  Status status = registry.Save(dir.Path("a_file/registry.pb"));
  EXPECT_EQ(status.code(), StatusCode::kIOError);
  EXPECT_THAT(status.message(), HasSubstr("a_file"));
}

TEST(RegistryTest, MovedFromRegistryIsEmptyAndUsable) {
  Registry registry;
  registry.Apply(SampleRepo(), 1000);
  Registry moved = std::move(registry);
  EXPECT_EQ(moved.project(), "rides");
  EXPECT_TRUE(registry.empty());  // NOLINT(bugprone-use-after-move): documented behaviour
  registry.Apply(SampleRepo(), 1000);
  EXPECT_EQ(registry.feature_views().size(), 2u);
}

}  // namespace
}  // namespace featureforge::registry
