// The registry on object stores (mem:// and test schemes wrapping the memory store): atomic
// saves, optimistic Update with retries on conflicts, the fallback for stores without
// conditional writes, and RegistryCache.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "featureforge/objectstore/memory_store.h"
#include "featureforge/registry/registry.h"
#include "featureforge/registry/registry_cache.h"
#include "registry_fixtures.h"

namespace featureforge::registry {
namespace {

using testing::ApplySample;
using ::testing::HasSubstr;
using testing::Record;

// A unique mem:// URI per test.
std::string MemUri(const std::string& name) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return std::string("mem://registry-test/") + info->name() + "/" + name;
}

// Wraps the shared memory store; before a conditional write it can let a rival write land
// (the race optimistic concurrency must survive), or pretend conditional writes are missing.
class RacingStore : public MemoryObjectStore {
 public:
  Result<VersionedObject> GetVersioned(const std::string& uri) override {
    return SharedMemoryObjectStore()->GetVersioned(Key(uri));
  }
  Result<std::string> Get(const std::string& uri) override {
    return SharedMemoryObjectStore()->Get(Key(uri));
  }
  Result<std::optional<std::string>> CurrentVersion(const std::string& uri) override {
    return SharedMemoryObjectStore()->CurrentVersion(Key(uri));
  }
  Status Put(const std::string& uri, std::string_view data) override {
    ++plain_puts;
    return SharedMemoryObjectStore()->Put(Key(uri), data);
  }
  Result<std::string> PutIfVersion(const std::string& uri, std::string_view data,
                                   const std::string& expected) override {
    ++conditional_puts;
    if (rival_writes_left > 0) {
      --rival_writes_left;
      // Another process records an interval between our read and our write.
      auto rival = Registry::LoadOrEmpty(Key(uri));
      if (!rival.ok()) return rival.status();
      FF_RETURN_IF_ERROR(
          rival->RecordMaterialization("hourly", 1'000'000 + rival_writes_left, 2'000'000, 7, 3));
      FF_RETURN_IF_ERROR(rival->Save(Key(uri)));
    }
    if (!conditional) return Status::NotSupported("conditional writes (test store)");
    return SharedMemoryObjectStore()->PutIfVersion(Key(uri), data, expected);
  }

  static std::string Key(const std::string& uri) {
    return "mem://" + uri.substr(uri.find("://") + 3);
  }

  std::atomic<int> rival_writes_left{0};
  std::atomic<int> conditional_puts{0};
  std::atomic<int> plain_puts{0};
  bool conditional = true;
};

std::shared_ptr<RacingStore> RegisterRacingScheme(const std::string& scheme) {
  auto store = std::make_shared<RacingStore>();
  RegisterObjectStoreScheme(scheme, [store](const std::string&) {
    return Result<std::shared_ptr<ObjectStore>>(std::shared_ptr<ObjectStore>(store));
  });
  return store;
}

TEST(RegistryObjectTest, MemoryRoundTripAndNotFoundNamingTheUri) {
  const std::string uri = MemUri("registry.pb");
  auto missing = Registry::Load(uri);
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr(uri));
  EXPECT_TRUE(Registry::LoadOrEmpty(uri)->empty());
  EXPECT_EQ(*Registry::Version(uri), "");

  ASSERT_TRUE(ApplySample(uri).ok());
  ASSERT_TRUE(Record(uri, 100).ok());
  auto loaded = Registry::Load(uri);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->project(), "rides");
  EXPECT_EQ(loaded->LastMaterializedEnd("hourly"), 110);
  auto versioned = Registry::LoadVersioned(uri);
  ASSERT_TRUE(versioned.ok());
  EXPECT_EQ(versioned->second, *Registry::Version(uri));
  EXPECT_FALSE(versioned->second.empty());
}

TEST(RegistryObjectTest, CorruptObjectIsCorruptionNamingTheUri) {
  const std::string uri = MemUri("registry.pb");
  ASSERT_TRUE(SharedMemoryObjectStore()->Put(uri, "FFREGPB1 but not really").ok());
  auto loaded = Registry::Load(uri);
  EXPECT_EQ(loaded.status().code(), StatusCode::kCorruption);
  EXPECT_THAT(loaded.status().message(), HasSubstr(uri));
  // Update never overwrites what it cannot read.
  EXPECT_EQ(ApplySample(uri).code(), StatusCode::kCorruption);
  EXPECT_EQ(*SharedMemoryObjectStore()->Get(uri), "FFREGPB1 but not really");
}

TEST(RegistryObjectTest, ConcurrentThreadsLoseNoUpdate) {
  const std::string uri = MemUri("registry.pb");
  ASSERT_TRUE(ApplySample(uri).ok());
  constexpr int kThreads = 4;
  constexpr int kEach = 25;
  EXPECT_EQ(testing::RecordFromThreads(uri, kThreads, kEach), 0);
  EXPECT_EQ(Registry::Load(uri)->feature_view("hourly")->intervals.size(),
            size_t{kThreads * kEach});
}

TEST(RegistryObjectTest, ConflictRereadsAndReappliesTheMutation) {
  auto store = RegisterRacingScheme("racing");
  const std::string uri = "racing://registry-test/conflict/registry.pb";
  ASSERT_TRUE(ApplySample(uri).ok());
  store->rival_writes_left = 3;  // the next three conditional writes each lose a race
  int runs = 0;
  Status status = Registry::Update(uri, [&](Registry& registry) {
    ++runs;
    return registry.RecordMaterialization("hourly", 0, 50, 5, 2000);
  });
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(runs, 4);
  auto view = Registry::Load(uri)->feature_view("hourly");
  ASSERT_TRUE(view.has_value());
  // The three rival intervals and ours, each once.
  EXPECT_EQ(view->intervals.size(), 4u);
  EXPECT_EQ(view->rows_written, 3 * 7 + 5);
  EXPECT_EQ(store->plain_puts.load(), 0);  // every write of ours was conditional
}

TEST(RegistryObjectTest, WithoutConditionalWritesVersionIsRecheckedBeforeWriting) {
  auto store = RegisterRacingScheme("plainonly");
  store->conditional = false;
  const std::string uri = "plainonly://registry-test/fallback/registry.pb";
  ASSERT_TRUE(ApplySample(uri).ok());
  store->rival_writes_left = 1;  // a rival lands between our read and our write
  int runs = 0;
  Status status = Registry::Update(uri, [&](Registry& registry) {
    ++runs;
    return registry.RecordMaterialization("hourly", 0, 50, 5, 2000);
  });
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(runs, 2);  // the changed version was noticed and the update redone
  EXPECT_EQ(Registry::Load(uri)->feature_view("hourly")->intervals.size(), 2u);
}

TEST(RegistryObjectTest, FailedMutationWritesNothing) {
  auto store = RegisterRacingScheme("failing");
  const std::string uri = "failing://registry-test/failed/registry.pb";
  ASSERT_TRUE(ApplySample(uri).ok());
  const int puts_before = store->conditional_puts.load();
  Status status = Registry::Update(uri, [](Registry& registry) {
    return registry.RecordMaterialization("unknown_view", 0, 1, 1, 1);
  });
  EXPECT_EQ(status.code(), StatusCode::kNotFound);
  EXPECT_EQ(store->conditional_puts.load(), puts_before);
}

TEST(RegistryCacheTest, RereadsOnlyWhenTheVersionChanges) {
  const std::string uri = MemUri("registry.pb");
  RegistryCache cache(uri);
  auto empty = cache.Get();
  ASSERT_TRUE(empty.ok()) << empty.status().ToString();
  EXPECT_TRUE((*empty)->empty());
  EXPECT_EQ(cache.loads(), 1u);
  EXPECT_EQ(cache.Get()->get(), empty->get());  // still missing: nothing re-read
  EXPECT_EQ(cache.loads(), 1u);

  ASSERT_TRUE(ApplySample(uri).ok());
  auto applied = cache.Get();
  ASSERT_TRUE(applied.ok());
  EXPECT_EQ((*applied)->project(), "rides");
  EXPECT_EQ(cache.loads(), 2u);
  EXPECT_EQ(cache.Get()->get(), applied->get());
  EXPECT_EQ(cache.loads(), 2u);

  ASSERT_TRUE(Record(uri, 500).ok());
  EXPECT_EQ((*cache.Get())->LastMaterializedEnd("hourly"), 510);
  EXPECT_EQ(cache.loads(), 3u);
  EXPECT_EQ(cache.version(), *Registry::Version(uri));
}

TEST(RegistryCacheTest, KeepsTheCachedCopyWhenARereadFails) {
  const std::string uri = MemUri("registry.pb");
  ASSERT_TRUE(ApplySample(uri).ok());
  RegistryCache cache(uri);
  ASSERT_TRUE(cache.Get().ok());
  ASSERT_TRUE(SharedMemoryObjectStore()->Put(uri, "garbage").ok());
  auto broken = cache.Get();
  EXPECT_EQ(broken.status().code(), StatusCode::kCorruption);
  ASSERT_TRUE(ApplySample(MemUri("other.pb")).ok());
  // Repaired: the next check reloads.
  ASSERT_TRUE(SharedMemoryObjectStore()
                  ->Put(uri, *SharedMemoryObjectStore()->Get(MemUri("other.pb")))
                  .ok());
  auto repaired = cache.Get();
  ASSERT_TRUE(repaired.ok()) << repaired.status().ToString();
  EXPECT_EQ((*repaired)->project(), "rides");
}

}  // namespace
}  // namespace featureforge::registry
