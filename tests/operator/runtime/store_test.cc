#include "featureforge/runtime/store.h"

#include <gtest/gtest.h>

namespace featureforge::runtime {
namespace {

ObjectPtr Obj(const std::string& ns, const std::string& name, const std::string& rv,
              const std::string& uid, const std::string& owner_uid = "") {
  Json o = {
      {"metadata", {{"namespace", ns}, {"name", name}, {"resourceVersion", rv}, {"uid", uid}}}};
  if (!owner_uid.empty()) {
    o["metadata"]["ownerReferences"] = Json::array({{{"uid", owner_uid}, {"name", "owner"}}});
  }
  return std::make_shared<const Json>(std::move(o));
}

TEST(StoreTest, UpsertRemoveAndIndexes) {
  Store store;
  EXPECT_EQ(store.Upsert(Obj("a", "p1", "1", "u1", "job1")), nullptr);
  store.Upsert(Obj("a", "p2", "2", "u2", "job1"));
  store.Upsert(Obj("b", "p3", "3", "u3", "job2"));
  EXPECT_EQ(store.size(), 3u);
  EXPECT_EQ(store.ByNamespace("a").size(), 2u);
  EXPECT_EQ(store.ByOwnerUid("job1").size(), 2u);
  EXPECT_EQ(store.ByUid("u3")->at("metadata")["name"], "p3");
  // Re-owning moves the object between owner indexes.
  ObjectPtr previous = store.Upsert(Obj("a", "p2", "4", "u2", "job2"));
  ASSERT_NE(previous, nullptr);
  EXPECT_EQ(ResourceVersionOf(*previous), "2");
  EXPECT_EQ(store.ByOwnerUid("job1").size(), 1u);
  EXPECT_EQ(store.ByOwnerUid("job2").size(), 2u);
  EXPECT_NE(store.Remove(ObjectKey{"a", "p1"}), nullptr);
  EXPECT_EQ(store.Remove(ObjectKey{"a", "p1"}), nullptr);
  EXPECT_TRUE(store.ByOwnerUid("job1").empty());
  EXPECT_EQ(store.ByUid("u1"), nullptr);
  EXPECT_EQ(store.Get(ObjectKey{"b", "p3"})->at("metadata")["uid"], "u3");
  EXPECT_EQ(store.Keys().size(), 2u);
}

}  // namespace
}  // namespace featureforge::runtime
