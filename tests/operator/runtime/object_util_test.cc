#include "featureforge/runtime/object_util.h"

#include <gtest/gtest.h>

namespace featureforge::runtime {
namespace {

Json Owner() {
  return Json::parse(R"({"apiVersion":"featureforge.dev/v1alpha1","kind":"MaterializationJob",
    "metadata":{"name":"job","namespace":"ns","uid":"u-1","generation":3}})");
}

TEST(ObjectUtilTest, ControllerReferences) {
  Json pod = {{"metadata", {{"name", "p"}}}};
  ASSERT_TRUE(SetControllerReference(Owner(), &pod).ok());
  ASSERT_TRUE(SetControllerReference(Owner(), &pod).ok());  // idempotent
  ASSERT_EQ(pod["metadata"]["ownerReferences"].size(), 1u);
  EXPECT_EQ(pod["metadata"]["ownerReferences"][0]["kind"], "MaterializationJob");
  EXPECT_TRUE(pod["metadata"]["ownerReferences"][0]["blockOwnerDeletion"].get<bool>());
  EXPECT_EQ(*ControllerUidOf(pod), "u-1");
  Json other = Owner();
  other["metadata"]["uid"] = "u-2";
  Status second = SetControllerReference(other, &pod);
  EXPECT_EQ(second.code(), StatusCode::kAlreadyExists);
  Json no_uid = Owner();
  no_uid["metadata"].erase("uid");
  EXPECT_EQ(SetControllerReference(no_uid, &pod).code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(ControllerUidOf(Json::object()).has_value());
  EXPECT_EQ(GenerationOf(Owner()), 3);
}

TEST(ObjectUtilTest, Finalizers) {
  Json o = {{"metadata", {{"name", "x"}}}};
  EXPECT_TRUE(AddFinalizer(&o, "featureforge.dev/cleanup"));
  EXPECT_FALSE(AddFinalizer(&o, "featureforge.dev/cleanup"));
  EXPECT_TRUE(HasFinalizer(o, "featureforge.dev/cleanup"));
  EXPECT_TRUE(AddFinalizer(&o, "other"));
  EXPECT_TRUE(RemoveFinalizer(&o, "featureforge.dev/cleanup"));
  EXPECT_FALSE(RemoveFinalizer(&o, "featureforge.dev/cleanup"));
  EXPECT_EQ(o["metadata"]["finalizers"], Json::array({"other"}));
  EXPECT_FALSE(IsBeingDeleted(o));
  o["metadata"]["deletionTimestamp"] = "2024-01-01T00:00:00Z";
  EXPECT_TRUE(IsBeingDeleted(o));
}

TEST(ObjectUtilTest, StatusConditionsKeepTransitionTimeUnlessStatusChanges) {
  Json conditions;
  TimestampMicros t0 = 1'700'000'000'000'000;
  EXPECT_TRUE(SetStatusCondition(&conditions, {"Ready", "False", "Pending", "waiting", 1}, t0));
  std::string first = (*FindStatusCondition(conditions, "Ready"))["lastTransitionTime"];
  EXPECT_EQ(first, "2023-11-14T22:13:20Z");
  // Same status, new message: changed, but no transition.
  EXPECT_TRUE(SetStatusCondition(&conditions, {"Ready", "False", "Pending", "still waiting", 1},
                                 t0 + 5'000'000));
  EXPECT_EQ((*FindStatusCondition(conditions, "Ready"))["lastTransitionTime"], first);
  // Nothing new: unchanged.
  EXPECT_FALSE(SetStatusCondition(&conditions, {"Ready", "False", "Pending", "still waiting", 1},
                                  t0 + 6'000'000));
  EXPECT_TRUE(
      SetStatusCondition(&conditions, {"Ready", "True", "Running", "ok", 2}, t0 + 10'000'000));
  const Json* ready = FindStatusCondition(conditions, "Ready");
  EXPECT_EQ((*ready)["lastTransitionTime"], "2023-11-14T22:13:30Z");
  EXPECT_EQ((*ready)["observedGeneration"], 2);
  EXPECT_TRUE(IsStatusConditionTrue(conditions, "Ready"));
  EXPECT_FALSE(IsStatusConditionTrue(conditions, "Complete"));
  EXPECT_TRUE(SetStatusCondition(&conditions, {"Complete", "Unknown", "NotStarted", "", 2}, t0));
  EXPECT_EQ(conditions.size(), 2u);
}

}  // namespace
}  // namespace featureforge::runtime
