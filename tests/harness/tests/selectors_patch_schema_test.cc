// Unit tests of the harness API server's pure parts: selectors, JSONPath, patches, schemas.
#include <gtest/gtest.h>

#include "patch.h"
#include "schema.h"
#include "selectors.h"
#include "tables.h"

namespace ffharness {
namespace {

TEST(LabelSelectorTest, AllOperators) {
  json labels = {{"app", "web"}, {"tier", "front"}};
  auto match = [&](const std::string& text) {
    std::string error;
    auto s = LabelSelector::Parse(text, &error);
    EXPECT_TRUE(s.has_value()) << text << ": " << error;
    return s && s->Matches(labels);
  };
  EXPECT_TRUE(match("app=web"));
  EXPECT_TRUE(match("app==web,tier"));
  EXPECT_FALSE(match("app!=web"));
  EXPECT_TRUE(match("tier in (front, back)"));
  EXPECT_FALSE(match("tier notin (front)"));
  EXPECT_TRUE(match("!missing"));
  EXPECT_FALSE(match("!tier"));
  EXPECT_FALSE(match("missing"));
  EXPECT_TRUE(match(""));
  std::string error;
  EXPECT_FALSE(LabelSelector::Parse("tier in front", &error).has_value());
  EXPECT_NE(error.find("tier in front"), std::string::npos);
}

TEST(LabelSelectorTest, FromObjectRoundTrip) {
  std::string error;
  auto s = LabelSelector::FromObject(
      json::parse(
          R"({"matchLabels":{"app":"x"},"matchExpressions":[{"key":"t","operator":"In","values":["a","b"]}]})"),
      &error);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->ToString(), "app=x,t in (a,b)");
  EXPECT_TRUE(s->Matches({{"app", "x"}, {"t", "b"}}));
  EXPECT_FALSE(s->Matches({{"app", "x"}, {"t", "c"}}));
}

TEST(FieldSelectorTest, NamesAndNestedFields) {
  json pod = {{"metadata", {{"name", "p1"}, {"namespace", "ns"}}}, {"spec", {{"nodeName", "n1"}}}};
  std::string error;
  auto s = FieldSelector::Parse("metadata.name=p1,spec.nodeName!=n2", &error);
  ASSERT_TRUE(s.has_value()) << error;
  EXPECT_TRUE(s->Matches(pod));
  EXPECT_FALSE(FieldSelector::Parse("metadata.namespace==other", &error)->Matches(pod));
  EXPECT_FALSE(FieldSelector::Parse("metadata.name", &error).has_value());
}

TEST(JsonPathTest, ConditionsFilterAndIndex) {
  json obj = json::parse(
      R"({"status":{"conditions":[{"type":"A","status":"False"},{"type":"Ready","status":"True"}]},
                             "spec":{"items":[{"n":1},{"n":2}]}})");
  auto v = EvaluateJsonPath(obj, R"(.status.conditions[?(@.type=="Ready")].status)");
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0], "True");
  EXPECT_EQ(EvaluateJsonPath(obj, ".spec.items[1].n")[0], 2);
  EXPECT_EQ(EvaluateJsonPath(obj, ".spec.items[*].n").size(), 2u);
  EXPECT_TRUE(EvaluateJsonPath(obj, ".status.missing").empty());
}

TEST(StrategicMergePatchTest, MergesContainersByNameAndHonoursDirectives) {
  json pod = json::parse(R"({"spec":{"containers":[
      {"name":"a","image":"x:1","env":[{"name":"E1","value":"1"},{"name":"E2","value":"2"}]},
      {"name":"b","image":"y:1"}]},"metadata":{"finalizers":["f1"]}})");
  json patch = json::parse(R"({"spec":{
      "$setElementOrder/containers":[{"name":"a"}],
      "containers":[{"name":"a","image":"x:2","env":[{"name":"E2","value":"3"}]},{"name":"b","$patch":"delete"}]},
      "metadata":{"finalizers":["f2"]}})");
  std::string error;
  ASSERT_TRUE(ApplyStrategicMergePatch(pod, patch, &error)) << error;
  ASSERT_EQ(pod["spec"]["containers"].size(), 1u);
  EXPECT_EQ(pod["spec"]["containers"][0]["image"], "x:2");
  EXPECT_EQ(pod["spec"]["containers"][0]["env"].size(), 2u);
  EXPECT_EQ(pod["spec"]["containers"][0]["env"][1]["value"], "3");
  EXPECT_EQ(pod["metadata"]["finalizers"], json::array({"f1", "f2"}));
}

TEST(StrategicMergePatchTest, NullDeletesAndRetainKeys) {
  json d = json::parse(
      R"({"spec":{"strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":1}},"paused":true}})");
  json patch = json::parse(
      R"({"spec":{"paused":null,"strategy":{"$retainKeys":["type"],"type":"Recreate"}}})");
  std::string error;
  ASSERT_TRUE(ApplyStrategicMergePatch(d, patch, &error)) << error;
  EXPECT_FALSE(d["spec"].contains("paused"));
  EXPECT_EQ(d["spec"]["strategy"], json::parse(R"({"type":"Recreate"})"));
}

TEST(JsonPatchTest, FailedTestOperationIsAnError) {
  json obj = {{"a", 1}};
  std::string error;
  EXPECT_TRUE(
      ApplyJsonPatch(obj, json::parse(R"([{"op":"replace","path":"/a","value":2}])"), &error));
  EXPECT_EQ(obj["a"], 2);
  EXPECT_FALSE(
      ApplyJsonPatch(obj, json::parse(R"([{"op":"test","path":"/a","value":5}])"), &error));
  EXPECT_FALSE(error.empty());
}

TEST(SchemaTest, ValidatesPrunesAndDefaults) {
  json schema =
      json::parse(R"({"type":"object","properties":{"spec":{"type":"object","required":["size"],
      "properties":{"size":{"type":"integer","minimum":1,"maximum":10},
                    "mode":{"type":"string","enum":["fast","slow"],"default":"fast"},
                    "name":{"type":"string","maxLength":3,"pattern":"^[a-z]+$"},
                    "free":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}}}})");
  json ok = json::parse(R"({"apiVersion":"x/v1","kind":"K","metadata":{"name":"n"},
                            "spec":{"size":2,"unknown":1,"free":{"any":[1]}}})");
  SchemaOutcome out = ApplySchema(ok, schema);
  EXPECT_TRUE(out.causes.empty()) << out.causes.dump();
  EXPECT_EQ(out.unknown_fields, std::vector<std::string>{"spec.unknown"});
  EXPECT_EQ(ok["spec"]["mode"], "fast");
  EXPECT_FALSE(ok["spec"].contains("unknown"));
  EXPECT_EQ(ok["spec"]["free"]["any"][0], 1);
  EXPECT_EQ(ok["metadata"]["name"], "n");

  json bad = json::parse(R"({"spec":{"size":"3","mode":"medium","name":"ABCD"}})");
  out = ApplySchema(bad, schema);
  std::string all = out.causes.dump();
  EXPECT_NE(all.find("spec.size in body must be of type integer"), std::string::npos) << all;
  EXPECT_NE(all.find("Unsupported value: \\\"medium\\\""), std::string::npos) << all;
  EXPECT_NE(all.find("Too long: may not be longer than 3"), std::string::npos) << all;
  EXPECT_NE(all.find("should match '^[a-z]+$'"), std::string::npos) << all;

  json missing = json::parse(R"({"spec":{"size":0}})");
  out = ApplySchema(missing, schema);
  all = out.causes.dump();
  EXPECT_NE(all.find("greater than or equal to 1"), std::string::npos) << all;
  json none = json::parse(R"({"spec":{}})");
  out = ApplySchema(none, schema);
  ASSERT_EQ(out.causes.size(), 1u);
  EXPECT_EQ(out.causes[0]["field"], "spec.size");
  EXPECT_EQ(out.causes[0]["message"], "Required value");
}

TEST(TablesTest, HumanDurationMatchesKubernetes) {
  EXPECT_EQ(HumanDuration(5), "5s");
  EXPECT_EQ(HumanDuration(119), "119s");
  EXPECT_EQ(HumanDuration(200), "3m20s");
  EXPECT_EQ(HumanDuration(3600 * 5 + 60 * 7), "5h7m");
  EXPECT_EQ(HumanDuration(3600 * 30), "30h");
  EXPECT_EQ(HumanDuration(3600 * 24 * 3 + 3600 * 2), "3d2h");
}

}  // namespace
}  // namespace ffharness
