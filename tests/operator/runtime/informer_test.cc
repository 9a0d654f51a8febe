#include "featureforge/runtime/informer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <thread>

namespace featureforge::runtime {
namespace {

using ::testing::ElementsAre;

Json Obj(const std::string& name, const std::string& rv, const std::string& uid = "") {
  return {{"metadata",
           {{"namespace", "ns"},
            {"name", name},
            {"resourceVersion", rv},
            {"uid", uid.empty() ? "uid-" + name : uid}}}};
}

Json ListOf(std::vector<Json> items, const std::string& rv) {
  return {{"kind", "List"}, {"metadata", {{"resourceVersion", rv}}}, {"items", items}};
}

k8s::WatchEvent Ev(const std::string& type, Json object) { return {type, std::move(object)}; }

// A scripted API: lists and watch sessions are consumed in order; with no session left, a watch
// blocks until cancelled.
class ScriptedListWatcher : public ListWatcher {
 public:
  struct Session {
    std::vector<k8s::WatchEvent> events;
    Status end;
  };

  void AddList(Result<Json> list) {
    std::lock_guard<std::mutex> lock(mu_);
    lists_.push_back(std::move(list));
  }
  void AddSession(Session session) {
    std::lock_guard<std::mutex> lock(mu_);
    sessions_.push_back(std::move(session));
  }
  std::vector<k8s::WatchOptions> watch_calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return watch_calls_;
  }
  int list_calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return list_calls_;
  }

  Result<Json> List() override {
    std::lock_guard<std::mutex> lock(mu_);
    ++list_calls_;
    if (lists_.empty()) return Status::Unavailable("no scripted list");
    Result<Json> next = lists_.front();
    lists_.pop_front();
    return next;
  }

  Status Watch(const k8s::WatchOptions& options, const k8s::WatchHandler& handler,
               const std::atomic<bool>* cancel) override {
    Session session;
    {
      std::lock_guard<std::mutex> lock(mu_);
      watch_calls_.push_back(options);
      if (sessions_.empty()) {
        session.end = Status::OK();
        session.events.clear();
        sessions_exhausted_ = true;
      } else {
        session = std::move(sessions_.front());
        sessions_.pop_front();
      }
    }
    if (session.events.empty() && session.end.ok()) {
      while (!cancel->load()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
      return Status::OK();
    }
    for (auto& event : session.events) {
      if (!handler(std::move(event))) return Status::OK();
    }
    return session.end;
  }

  std::string Describe() const override { return "scripted"; }

 private:
  std::mutex mu_;
  std::deque<Result<Json>> lists_;
  std::deque<Session> sessions_;
  std::vector<k8s::WatchOptions> watch_calls_;
  int list_calls_ = 0;
  bool sessions_exhausted_ = false;
};

class Recorder {
 public:
  EventHandlers Handlers() {
    EventHandlers h;
    h.on_add = [this](const ObjectPtr& o) { Record("add " + Describe(*o)); };
    h.on_update = [this](const ObjectPtr& old_object, const ObjectPtr& o) {
      Record("update " + Describe(*o) + " from " + ResourceVersionOf(*old_object));
    };
    h.on_delete = [this](const ObjectPtr& o) { Record("delete " + Describe(*o)); };
    return h;
  }
  // Waits (generously) until `n` events arrived, then returns them all.
  std::vector<std::string> WaitFor(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(30), [&] { return events_.size() >= n; });
    return events_;
  }

 private:
  static std::string Describe(const Json& o) {
    return o["metadata"]["name"].get<std::string>() + "@" + ResourceVersionOf(o);
  }
  void Record(std::string e) {
    std::lock_guard<std::mutex> lock(mu_);
    events_.push_back(std::move(e));
    cv_.notify_all();
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> events_;
};

InformerOptions FastRetries() {
  InformerOptions options;
  options.backoff_initial = 1000;
  options.backoff_max = 10'000;
  return options;
}

TEST(RelistDiffTest, ReportsOnlyChanges) {
  Store store;
  store.Upsert(std::make_shared<const Json>(Obj("same", "1")));
  store.Upsert(std::make_shared<const Json>(Obj("changed", "2")));
  store.Upsert(std::make_shared<const Json>(Obj("gone", "3")));
  store.Upsert(std::make_shared<const Json>(Obj("recreated", "4", "old-uid")));
  std::vector<ObjectPtr> listed = {
      std::make_shared<const Json>(Obj("same", "1")),
      std::make_shared<const Json>(Obj("changed", "5")),
      std::make_shared<const Json>(Obj("new", "6")),
      std::make_shared<const Json>(Obj("recreated", "7", "new-uid")),
  };
  RelistDiff diff = ComputeRelistDiff(store, listed);
  ASSERT_EQ(diff.added.size(), 2u);
  EXPECT_EQ((*diff.added[0])["metadata"]["name"], "new");
  EXPECT_EQ((*diff.added[1])["metadata"]["uid"], "new-uid");
  ASSERT_EQ(diff.updated.size(), 1u);
  EXPECT_EQ(ResourceVersionOf(*diff.updated[0].first), "2");
  EXPECT_EQ(ResourceVersionOf(*diff.updated[0].second), "5");
  ASSERT_EQ(diff.deleted.size(), 2u);
  std::set<std::string> deleted;
  for (auto& d : diff.deleted) deleted.insert(UidOf(*d));
  EXPECT_EQ(deleted, (std::set<std::string>{"uid-gone", "old-uid"}));
}

TEST(InformerTest, GoneRelistsAndDeliversOnlyTheDifference) {
  auto source = std::make_shared<ScriptedListWatcher>();
  source->AddList(ListOf({Obj("a", "1"), Obj("b", "2")}, "2"));
  source->AddSession({{Ev("MODIFIED", Obj("a", "3")), Ev("ADDED", Obj("c", "4")),
                       Ev("BOOKMARK", {{"metadata", {{"resourceVersion", "6"}}}})},
                      k8s::MakeK8sStatus(410, "Expired", "WATCH", "too old resource version")});
  source->AddList(ListOf({Obj("a", "3"), Obj("c", "5"), Obj("d", "7")}, "7"));
  Informer informer(source, FastRetries());
  Recorder recorder;
  informer.AddEventHandlers(recorder.Handlers());
  EXPECT_FALSE(informer.HasSynced());
  informer.Start();
  auto events = recorder.WaitFor(7);
  EXPECT_TRUE(informer.HasSynced());
  EXPECT_THAT(events, ElementsAre("add a@1", "add b@2", "update a@3 from 1", "add c@4",
                                  "delete b@2", "add d@7", "update c@5 from 4"));
  // Wait for the third watch (after the relist) to be open, then stop.
  while (source->watch_calls().size() < 2)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  informer.Stop();
  auto calls = source->watch_calls();
  ASSERT_GE(calls.size(), 2u);
  EXPECT_EQ(calls[0].resource_version, "2");
  EXPECT_TRUE(calls[0].allow_bookmarks);
  EXPECT_GE(calls[0].timeout_seconds, 300);
  EXPECT_LE(calls[0].timeout_seconds, 600);
  EXPECT_EQ(calls[1].resource_version, "7");
  EXPECT_EQ(source->list_calls(), 2);
  EXPECT_EQ(informer.store().size(), 3u);
  EXPECT_EQ(informer.relists(), 2u);
  EXPECT_EQ(recorder.WaitFor(0).size(), 7u);  // nothing more after Stop
}

TEST(InformerTest, ResumesFromLastSeenVersionAndSkipsReplays) {
  auto source = std::make_shared<ScriptedListWatcher>();
  source->AddList(ListOf({Obj("a", "1")}, "1"));
  // The stream is cut after one event (server restart): resume from "2", not relist.
  source->AddSession({{Ev("MODIFIED", Obj("a", "2"))},
                      k8s::MakeTransportStatus(k8s::K8sReason::kUnavailable, "WATCH",
                                               "watch stream cut mid-object")});
  // A bookmark-only session that ends normally moves the resume point.
  source->AddSession({{Ev("BOOKMARK", {{"metadata", {{"resourceVersion", "5"}}}})}, Status::OK()});
  // The server replays what we already have, plus a delete of something never seen.
  source->AddSession({{Ev("MODIFIED", Obj("a", "2")), Ev("DELETED", Obj("zzz", "6")),
                       Ev("MODIFIED", Obj("a", "8")), Ev("DELETED", Obj("a", "9"))},
                      Status::OK()});
  Informer informer(source, FastRetries());
  Recorder recorder;
  informer.AddEventHandlers(recorder.Handlers());
  informer.Start();
  auto events = recorder.WaitFor(4);
  EXPECT_THAT(events,
              ElementsAre("add a@1", "update a@2 from 1", "update a@8 from 2", "delete a@9"));
  while (source->watch_calls().size() < 4)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  informer.Stop();
  auto calls = source->watch_calls();
  EXPECT_EQ(calls[0].resource_version, "1");
  EXPECT_EQ(calls[1].resource_version, "2");
  EXPECT_EQ(calls[2].resource_version, "5");
  EXPECT_EQ(calls[3].resource_version, "9");
  EXPECT_EQ(source->list_calls(), 1);
  EXPECT_GE(informer.watch_restarts(), 3u);
  EXPECT_EQ(informer.store().size(), 0u);
}

TEST(InformerTest, ListFailuresAreRetriedAndLateHandlersGetTheCache) {
  auto source = std::make_shared<ScriptedListWatcher>();
  source->AddList(k8s::MakeTransportStatus(k8s::K8sReason::kUnavailable, "LIST", "refused"));
  source->AddList(k8s::MakeK8sStatus(500, "InternalError", "LIST", "etcd down"));
  source->AddList(ListOf({Obj("x", "3")}, "3"));
  Informer informer(source, FastRetries());
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(30 * kMicrosPerSecond));
  EXPECT_EQ(source->list_calls(), 3);
  Recorder late;
  informer.AddEventHandlers(late.Handlers());
  EXPECT_THAT(late.WaitFor(1), ElementsAre("add x@3"));
  informer.Stop();
}

}  // namespace
}  // namespace featureforge::runtime
