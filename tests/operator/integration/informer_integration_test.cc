// Informers against the harness API server: a server restart mid-watch, dropped watch streams
// and a forced 410 Gone neither lose nor duplicate events; unreachable/TLS failures are retried.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

#include "featureforge/runtime/informer.h"
#include "harness_process.h"
#include "integration_util.h"

namespace featureforge::runtime {
namespace {

using k8s::testing::HarnessProcess;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAreArray;
using namespace runtime::testing;

InformerOptions QuickRetries() {
  InformerOptions options;
  options.backoff_initial = 50'000;
  options.backoff_max = 1'000'000;
  return options;
}

std::shared_ptr<k8s::Client> MakeClient(const HarnessProcess& server) {
  auto config = server.Config();
  EXPECT_TRUE(config.ok()) << config.status().ToString();
  auto client = k8s::Client::Create(*config);
  EXPECT_TRUE(client.ok());
  return *client;
}

// The informer's cache equals what the server lists: same names, same resourceVersions.
bool CacheMatchesServer(const Informer& informer, k8s::Client& client, const std::string& ns) {
  auto list = client.List(k8s::resources::ConfigMaps(), ns);
  if (!list.ok()) return false;
  std::map<std::string, std::string> server;
  for (const auto& item : (*list)["items"]) {
    server[item["metadata"]["name"]] = ResourceVersionOf(item);
  }
  std::map<std::string, std::string> cached;
  for (const auto& object : informer.store().List()) {
    cached[(*object)["metadata"]["name"]] = ResourceVersionOf(*object);
  }
  return server == cached;
}

std::string RvOf(const Result<k8s::Json>& r) { return r.ok() ? ResourceVersionOf(*r) : "?"; }

TEST(InformerIntegrationTest, SurvivesServerRestartMidWatch) {
  HarnessProcess server;
  ASSERT_TRUE(server.Start().ok());
  auto client = MakeClient(server);
  const std::string ns = "inf-restart";
  ASSERT_TRUE(EnsureNamespace(*client, ns).ok());
  const auto& cms = k8s::resources::ConfigMaps();
  std::vector<std::string> expected;
  for (int i = 0; i < 5; ++i) {
    auto created = client->Create(cms, ConfigMap(ns, "cm" + std::to_string(i)));
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    expected.push_back("add cm" + std::to_string(i) + "@" + RvOf(created));
  }
  Informer informer(MakeClientListWatcher(client, cms, ns), QuickRetries());
  DeliveryLog log;
  informer.AddEventHandlers(log.Handlers());
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(60 * kMicrosPerSecond));
  ASSERT_TRUE(WaitUntil([&] { return log.size() >= 5; }));

  ASSERT_TRUE(server.Restart().ok());  // the open watch breaks; state survives the restart
  for (int i = 5; i < 8; ++i) {
    auto created = client->Create(cms, ConfigMap(ns, "cm" + std::to_string(i)));
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    expected.push_back("add cm" + std::to_string(i) + "@" + RvOf(created));
  }
  for (int i : {1, 6}) {
    auto patched = client->Patch(cms, ns, "cm" + std::to_string(i), k8s::PatchType::kMerge,
                                 {{"data", {{"changed", "yes"}}}});
    ASSERT_TRUE(patched.ok()) << patched.status().ToString();
    expected.push_back("update cm" + std::to_string(i) + "@" + RvOf(patched));
  }
  auto before_delete = client->Get(cms, ns, "cm2");
  ASSERT_TRUE(client->Delete(cms, ns, "cm2").ok());
  (void)before_delete;
  ASSERT_TRUE(WaitUntil([&] {
    return log.size() >= expected.size() + 1 && CacheMatchesServer(informer, *client, ns);
  }));
  informer.Stop();
  std::vector<std::string> events = log.events();
  // Exactly one delivery per change: the delete carries the final state's version.
  ASSERT_EQ(events.size(), expected.size() + 1) << ::testing::PrintToString(events);
  EXPECT_THAT(std::vector<std::string>(events.begin(), events.end() - 1),
              UnorderedElementsAreArray(expected));
  EXPECT_THAT(events.back(), HasSubstr("delete cm2@"));
  EXPECT_GE(informer.watch_restarts(), 1u);
  EXPECT_EQ(informer.relists(), 1u);  // resumed from its resourceVersion, no relist needed
}

TEST(InformerIntegrationTest, ForcedGoneRelistsAndDeliversTheDifferenceOnce) {
  HarnessProcess server;
  ASSERT_TRUE(server.Start().ok());
  auto client = MakeClient(server);
  const std::string ns = "inf-gone";
  ASSERT_TRUE(EnsureNamespace(*client, ns).ok());
  const auto& cms = k8s::resources::ConfigMaps();
  std::string b_rv;
  for (const char* name : {"a", "b", "c"}) {
    auto created = client->Create(cms, ConfigMap(ns, name));
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    if (std::string(name) == "b") b_rv = RvOf(created);
  }
  Informer informer(MakeClientListWatcher(client, cms, ns), QuickRetries());
  DeliveryLog log;
  informer.AddEventHandlers(log.Handlers());
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(60 * kMicrosPerSecond));
  ASSERT_TRUE(WaitUntil([&] { return log.size() >= 3; }));
  std::string rv_before = informer.last_resource_version();

  // While the informer is not watching: changes, then the history is compacted away.
  informer.Stop();
  auto a2 = client->Patch(cms, ns, "a", k8s::PatchType::kMerge, {{"data", {{"x", "1"}}}});
  ASSERT_TRUE(a2.ok());
  ASSERT_TRUE(client->Delete(cms, ns, "b").ok());
  auto d1 = client->Create(cms, ConfigMap(ns, "d"));
  ASSERT_TRUE(d1.ok());
  ASSERT_TRUE(server.HarnessCall("compact").ok());
  auto e1 = client->Create(cms, ConfigMap(ns, "e"));  // a change after the compaction
  ASSERT_TRUE(e1.ok());

  informer.Start();  // resumes from rv_before: 410 Gone, relist, deliver the difference
  ASSERT_TRUE(
      WaitUntil([&] { return log.size() >= 7 && CacheMatchesServer(informer, *client, ns); }));
  EXPECT_EQ(informer.relists(), 2u);
  std::vector<std::string> events = log.events();
  ASSERT_EQ(events.size(), 7u) << ::testing::PrintToString(events);
  std::vector<std::string> after(events.begin() + 3, events.end());
  // A relist knows only the last state it cached of a deleted object: b as created.
  EXPECT_THAT(after, UnorderedElementsAreArray({"update a@" + RvOf(a2), "add d@" + RvOf(d1),
                                                "add e@" + RvOf(e1), "delete b@" + b_rv}));

  // The server cutting every watch stream: the informer resumes without a relist.
  ASSERT_TRUE(server.HarnessCall("drop-watches").ok());
  auto f1 = client->Create(cms, ConfigMap(ns, "f"));
  ASSERT_TRUE(f1.ok());
  ASSERT_TRUE(
      WaitUntil([&] { return log.size() >= 8 && CacheMatchesServer(informer, *client, ns); }));
  informer.Stop();
  events = log.events();
  ASSERT_EQ(events.size(), 8u) << ::testing::PrintToString(events);
  EXPECT_EQ(events.back(), "add f@" + RvOf(f1));
  EXPECT_EQ(informer.relists(), 2u);
  EXPECT_NE(rv_before, informer.last_resource_version());
}

TEST(InformerIntegrationTest, TlsFailureIsRetriedWithAClearErrorNeverSynced) {
  HarnessProcess server;
  ASSERT_TRUE(server.Start().ok());
  auto config = server.Config();
  ASSERT_TRUE(config.ok());
  config->ca_pem.clear();  // self-signed harness CA is not in the system store
  auto client = k8s::Client::Create(*config);
  ASSERT_TRUE(client.ok());
  Informer informer(MakeClientListWatcher(*client, k8s::resources::ConfigMaps(), "default"),
                    QuickRetries());
  informer.Start();
  ASSERT_TRUE(WaitUntil([&] { return informer.list_errors() >= 2; }));
  EXPECT_FALSE(informer.HasSynced());
  EXPECT_THAT(informer.last_error(), HasSubstr("TLS"));
  informer.Stop();
}

TEST(InformerIntegrationTest, UnreachableServerIsRetriedUntilItComesUp) {
  HarnessProcess server;
  ASSERT_TRUE(server.Start().ok());
  auto client = MakeClient(server);
  ASSERT_TRUE(server.Stop().ok());  // down before the informer starts
  Informer informer(MakeClientListWatcher(client, k8s::resources::Namespaces()), QuickRetries());
  informer.Start();
  ASSERT_TRUE(WaitUntil([&] { return informer.list_errors() >= 2; }));
  EXPECT_FALSE(informer.HasSynced());
  EXPECT_THAT(informer.last_error(), HasSubstr("cannot connect"));
  ASSERT_TRUE(server.Restart().ok());
  EXPECT_TRUE(informer.WaitForSync(60 * kMicrosPerSecond));
  EXPECT_NE(informer.store().Get({"", "default"}), nullptr);
  informer.Stop();
}

}  // namespace
}  // namespace featureforge::runtime
