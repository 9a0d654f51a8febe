// ff-helm-render itself, on a fixture chart (testdata/fixture): Helm's functions and objects,
// value layering, --set syntax, schema keywords, output order and error messages.
#include <gmock/gmock.h>

#include "chart_test_util.h"

namespace ffchart::testing {
namespace {

using ::testing::HasSubstr;

std::string Fixture(const std::string& name = "fixture") {
  return SourceDir() + "/tests/chart/tests/testdata/" + name;
}

YAML::Node ConfigMapData(const std::vector<std::string>& args) {
  auto r = Render(args, Fixture());
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto maps = Find(SplitDocuments(r.out), "ConfigMap");
  EXPECT_EQ(maps.size(), 1u) << r.out;
  return maps.empty() ? YAML::Node() : maps[0].object["data"];
}

TEST(Renderer, HelmObjectsAndFunctions) {
  YAML::Node data = ConfigMapData({"--name", "rel", "--namespace", "ns1"});
  EXPECT_EQ(data["greeting"].as<std::string>(), "hello from rel");  // tpl
  EXPECT_EQ(data["chart"].as<std::string>(), "fixture/1.2.3/4.5");
  EXPECT_EQ(data["install"].as<std::string>(), "true");
  EXPECT_EQ(data["service"].as<std::string>(), "Helm");
  EXPECT_EQ(data["kube"].as<std::string>(), "1.30");
  EXPECT_EQ(data["hasApps"].as<std::string>(), "true");
  EXPECT_EQ(data["hasCustom"].as<std::string>(), "false");
  EXPECT_EQ(data["list"].as<std::string>(), "a,b");
  EXPECT_EQ(data["nested"].as<std::string>(), R"({"drop":2,"keep":1})");
  EXPECT_EQ(data["port"].as<std::string>(), "8080");  // fromYaml
  EXPECT_EQ(data["template"].as<std::string>(), "fixture/templates/configmap.yaml");
  EXPECT_EQ(data["missing"].as<std::string>(), "");  // no "<no value>"
  EXPECT_EQ(data["yaml"].as<std::string>(), "drop: 2\nkeep: 1\n");
}

TEST(Renderer, CapabilitiesAndReleaseFlags) {
  YAML::Node data = ConfigMapData(
      {"--kube-version", "v1.28.3", "--api-versions", "example.com/v1/Widget", "--is-upgrade"});
  EXPECT_EQ(data["kube"].as<std::string>(), "1.28");
  EXPECT_EQ(data["hasCustom"].as<std::string>(), "true");
  EXPECT_EQ(data["install"].as<std::string>(), "false");
  auto old = Render({"--kube-version", "1.24.0"}, Fixture());
  EXPECT_NE(old.exit_code, 0);
  EXPECT_THAT(old.err, HasSubstr("kubeVersion: >=1.25.0-0"));
}

TEST(Renderer, SetSyntaxAndLayering) {
  YAML::Node data = ConfigMapData(
      {"--set", "list={x,y,z},nested.keep=k1,nested.drop=null", "--set", "greeting=a\\,b"});
  EXPECT_EQ(data["list"].as<std::string>(), "x,y,z");
  EXPECT_EQ(data["nested"].as<std::string>(), R"({"keep":"k1"})");
  EXPECT_EQ(data["greeting"].as<std::string>(), "a,b from release-name");
  YAML::Node indexed = ConfigMapData({"--set", "list[1]=q"});
  EXPECT_EQ(indexed["list"].as<std::string>(), "a,q");
  auto bad = Render({"--set", "novalue"}, Fixture());
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_THAT(bad.err, HasSubstr("expected key=value"));
}

TEST(Renderer, SchemaKeywords) {
  auto too_many = Render({"--set", "list={a,b,c,d}"}, Fixture());
  EXPECT_THAT(too_many.err, HasSubstr("list: Array must have at most 3 items"));
  auto any_of = Render({"--set", "nested.keep=x"}, Fixture());  // via $ref + anyOf
  EXPECT_THAT(any_of.err, HasSubstr("nested.keep: Must validate at least one schema (anyOf)"));
  auto empty = Render({"--set", "greeting="}, Fixture());
  EXPECT_THAT(empty.err, HasSubstr("greeting: String length must be greater than or equal to 1"));
  auto skipped = Render({"--set", "greeting=", "--skip-schema-validation"}, Fixture());
  EXPECT_EQ(skipped.exit_code, 0) << skipped.err;
}

TEST(Renderer, OutputOrderSourcesAndFilters) {
  auto r = Render({}, Fixture());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto docs = SplitDocuments(r.out);
  ASSERT_EQ(docs.size(), 3u) << r.out;  // the comment-only document is dropped
  // Helm's install order: Secrets before ConfigMaps, file order kept within a kind.
  EXPECT_EQ(docs[0].object["metadata"]["name"].as<std::string>(), "one");
  EXPECT_EQ(docs[1].object["metadata"]["name"].as<std::string>(), "two");
  EXPECT_EQ(docs[0].source, "fixture/templates/two.yaml");
  EXPECT_EQ(docs[2].source, "fixture/templates/configmap.yaml");
  EXPECT_THAT(r.out, ::testing::Not(HasSubstr("Installed")));  // NOTES.txt is not a manifest
  auto only = Render({"--show-only", "templates/configmap.yaml"}, Fixture());
  EXPECT_EQ(SplitDocuments(only.out).size(), 1u);
  auto unknown = Render({"--show-only", "templates/nope.yaml"}, Fixture());
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_THAT(unknown.err, HasSubstr("could not find template templates/nope.yaml"));
  auto notes = Render({"--notes", "--name", "r1"}, Fixture());
  EXPECT_EQ(notes.out, "Installed fixture-r1.\n");
}

TEST(Renderer, ErrorsNameTheTemplate) {
  auto r = Render({}, Fixture("badtemplate"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("bad/templates/broken.yaml:4"));
  EXPECT_THAT(r.err, HasSubstr("function \"nosuchfunction\" not defined"));
  auto usage = Render({"--no-such-flag"}, Fixture());
  EXPECT_EQ(usage.exit_code, 2);
  auto not_a_chart = Render({}, SourceDir() + "/tests/chart");
  EXPECT_EQ(not_a_chart.exit_code, 1);
  EXPECT_THAT(not_a_chart.err, HasSubstr("not a chart"));
}

}  // namespace
}  // namespace ffchart::testing
