// Watches through the real kubectl: get -w, resume from a resourceVersion, bookmarks, 410 Gone,
// and a server restart that keeps state.
#include <gmock/gmock.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "kubectl_fixture.h"

namespace ffharness::testing {
namespace {

using ::testing::HasSubstr;

TEST_F(KubectlTest, GetWatchPrintsUpdates) {
  ASSERT_EQ(Apply("apiVersion: test.featureforge.dev/v1\nkind: Widget\nmetadata: {name: w}\nspec: "
                  "{size: 2}\n")
                .exit_code,
            0);
  BackgroundCommand watch(KubectlArgv({"get", "widgets", "-w"}),
                          server_->dir() + "/watch-" + ns_ + ".out");
  ASSERT_TRUE(watch.WaitForOutput("SIZE")) << watch.Output();
  ASSERT_EQ(
      Kubectl({"patch", "widget", "w", "--type=merge", "-p", R"({"spec":{"size":7}})"}).exit_code,
      0);
  ASSERT_EQ(Kubectl({"patch", "widget", "w", "--subresource=status", "--type=merge", "-p",
                     R"({"status":{"phase":"Materializing"}})"})
                .exit_code,
            0);
  EXPECT_TRUE(watch.WaitForOutput("Materializing")) << watch.Output();
  std::string out = watch.Output();
  EXPECT_NE(out.find("7"), std::string::npos) << out;
}

std::string RawWatch(ApiServerProcess& server, const std::string& query) {
  auto r =
      server.Kubectl({"get", "--raw", "/api/v1/namespaces/default/configmaps?watch=1&" + query});
  return r.out + r.err;
}

TEST(WatchTest, ResumeFromResourceVersionWithBookmarks) {
  ApiServerProcess server({"--bookmark-interval", "1"});
  ASSERT_TRUE(server.Start());
  ASSERT_EQ(server.Apply("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n").exit_code, 0);
  auto r = server.Kubectl({"get", "configmap", "a", "-o", "jsonpath={.metadata.resourceVersion}"});
  std::string rv = r.out;
  ASSERT_EQ(server.Apply("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n").exit_code, 0);
  ASSERT_EQ(server.Kubectl({"delete", "configmap", "a"}).exit_code, 0);
  std::string out =
      RawWatch(server, "resourceVersion=" + rv + "&allowWatchBookmarks=true&timeoutSeconds=3");
  std::vector<std::string> events;  // "TYPE name" per line
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    auto event = nlohmann::json::parse(line);
    events.push_back(event["type"].get<std::string>() + " " +
                     event["object"]["metadata"].value("name", ""));
  }
  ASSERT_GE(events.size(), 3u) << out;
  EXPECT_EQ(events[0], "ADDED b") << out;
  EXPECT_EQ(events[1], "DELETED a") << out;
  EXPECT_EQ(events[2], "BOOKMARK ") << out;
  // A label-selected watch sees an object leaving its selection as DELETED.
  ASSERT_EQ(server.Apply("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: l, labels: {k: v}}\n")
                .exit_code,
            0);
  rv = server.Kubectl({"get", "configmap", "l", "-o", "jsonpath={.metadata.resourceVersion}"}).out;
  ASSERT_EQ(server.Kubectl({"label", "configmap", "l", "k-"}).exit_code, 0);
  out = RawWatch(server, "resourceVersion=" + rv + "&labelSelector=k%3Dv&timeoutSeconds=1");
  EXPECT_THAT(out, HasSubstr(R"("type":"DELETED")"));
}

TEST(WatchTest, OldResourceVersionIsGone) {
  ApiServerProcess server({"--watch-history", "3"});
  ASSERT_TRUE(server.Start());
  for (int i = 0; i < 6; ++i) {
    ASSERT_EQ(server
                  .Apply("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c" + std::to_string(i) +
                         "}\n")
                  .exit_code,
              0);
  }
  std::string out = RawWatch(server, "resourceVersion=2&timeoutSeconds=2");
  EXPECT_THAT(out, HasSubstr(R"("type":"ERROR")"));
  EXPECT_THAT(out, HasSubstr(R"("code":410)"));
  EXPECT_THAT(out, HasSubstr(R"("reason":"Expired")"));
  EXPECT_THAT(out, HasSubstr("too old resource version: 2"));
  // The test endpoint forgets all history: even the newest version is gone afterwards.
  std::string rv =
      server.Kubectl({"get", "configmap", "c5", "-o", "jsonpath={.metadata.resourceVersion}"}).out;
  ASSERT_EQ(server.Apply("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: d}\n").exit_code, 0);
  auto r = server.Kubectl({"create", "--raw", "/harness/compact", "-f", "-"}, "{}");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  out = RawWatch(server, "resourceVersion=" + rv + "&timeoutSeconds=2");
  EXPECT_THAT(out, HasSubstr(R"("code":410)"));
}

TEST(WatchTest, RestartKeepsObjectsAndWatchHistory) {
  ApiServerProcess server;
  ASSERT_TRUE(server.Start());
  ASSERT_EQ(server.Apply("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: keep}\ndata: {a: b}\n")
                .exit_code,
            0);
  std::string rv =
      server.Kubectl({"get", "configmap", "keep", "-o", "jsonpath={.metadata.resourceVersion}"})
          .out;
  ASSERT_EQ(
      server.Kubectl({"patch", "configmap", "keep", "--type=merge", "-p", R"({"data":{"a":"c"}})"})
          .exit_code,
      0);
  int port = server.port();
  ASSERT_TRUE(server.Restart());
  EXPECT_EQ(server.port(), port);
  auto r = server.Kubectl({"get", "configmap", "keep", "-o", "jsonpath={.data.a}"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "c");
  std::string out = RawWatch(server, "resourceVersion=" + rv + "&timeoutSeconds=1");
  EXPECT_THAT(out, HasSubstr(R"("type":"MODIFIED")"));
  ASSERT_EQ(server.Apply("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: after}\n").exit_code,
            0);
  std::string new_rv =
      server.Kubectl({"get", "configmap", "after", "-o", "jsonpath={.metadata.resourceVersion}"})
          .out;
  EXPECT_GT(std::stol(new_rv), std::stol(rv)) << "resourceVersions stay monotonic across restarts";
}

}  // namespace
}  // namespace ffharness::testing
