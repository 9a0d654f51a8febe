// Schedule path of the MaterializationJob reconciler: a job with spec.schedule creates child
// runs (owned MaterializationJobs without a schedule) at its cron fire times.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "featureforge/controllers/materializationjob/cron.h"
#include "featureforge/controllers/materializationjob/reconciler.h"
#include "featureforge/k8s/errors.h"
#include "featureforge/runtime/object_util.h"

namespace featureforge::controllers::mj {

Result<runtime::ReconcileResult> MaterializationJobReconciler::ReconcileSchedule(
    const Json& job, const JobSpec& spec) {
  const TimestampMicros now = deps_.clock->Now();
  const std::string ns = job["metadata"].value("namespace", "default");
  const std::string name = job["metadata"].value("name", "");
  const std::string uid = job["metadata"].value("uid", "");
  const int64_t generation = runtime::GenerationOf(job);
  Json status = job.value("status", Json::object());
  status["observedGeneration"] = generation;
  Json& conditions = status["conditions"];

  // Children from the cache (they are our own objects, so a lagging cache only delays pruning).
  struct Child {
    std::string name;
    std::string phase;
    TimestampMicros finished = 0;
  };
  std::vector<Child> children;
  if (deps_.jobs != nullptr) {
    for (const auto& c : deps_.jobs->ByOwnerUid(uid)) {
      Child child;
      child.name = (*c)["metadata"].value("name", "");
      Json cs = c->value("status", Json::object());
      child.phase = cs.value("phase", "Pending");
      auto done = ParseTimestamp(
          cs.value("completionTime", (*c)["metadata"].value("creationTimestamp", "")));
      child.finished = done.ok() ? *done : 0;
      if (!runtime::IsBeingDeleted(*c)) children.push_back(child);
    }
  }
  auto is_finished = [](const Child& c) { return c.phase == "Succeeded" || c.phase == "Failed"; };
  std::vector<std::string> active;
  for (const auto& c : children)
    if (!is_finished(c)) active.push_back(c.name);

  // History limits: prune the oldest finished children beyond each limit.
  for (const std::string phase : {"Succeeded", "Failed"}) {
    std::vector<Child> done;
    for (const auto& c : children)
      if (c.phase == phase) done.push_back(c);
    std::sort(done.begin(), done.end(),
              [](const Child& a, const Child& b) { return a.finished > b.finished; });
    const size_t limit =
        size_t(phase == "Succeeded" ? spec.successful_history_limit : spec.failed_history_limit);
    for (size_t i = limit; i < done.size(); ++i) {
      Status s = deps_.client->Delete(MaterializationJobs(), ns, done[i].name,
                                      k8s::DeleteOptions{"Background", std::nullopt, "", ""});
      if (s.ok())
        Event(job, false, "PrunedRun",
              "deleted finished run " + done[i].name + " (" + phase + "; history limit " +
                  std::to_string(limit) + ")");
    }
    if (phase == "Succeeded" && !done.empty())
      status["lastSuccessfulTime"] = FormatTimestamp(done.front().finished);
  }

  status["active"] = active;
  status["phase"] = spec.suspend ? "Suspended" : "Scheduled";
  if (spec.suspend) {
    status.erase("nextScheduleTime");
    runtime::SetStatusCondition(
        &conditions,
        {"Scheduled", "False", "Suspended", "spec.suspend is true: no new runs", generation}, now);
    FF_RETURN_IF_ERROR(WriteStatus(job, status));
    return runtime::ReconcileResult{false, int64_t(deps_.config.resync_seconds) * kMicrosPerSecond};
  }

  auto cron = CronSchedule::Parse(spec.schedule);
  auto zone = TimeZone::Load(spec.time_zone);
  if (!cron.ok() || !zone.ok())
    return FailInvalid(job, "InvalidSpec", (!cron.ok() ? cron.status() : zone.status()).message());
  // A schedule edit restarts the reckoning from now, so an edit never fires a backlog.
  TimestampMicros last = 0;
  const std::string seen_schedule = status.value("observedSchedule", "");
  if (auto t = ParseTimestamp(status.value("lastScheduleTime", "")); t.ok())
    last = *t;
  else if (auto c = ParseTimestamp(job["metadata"].value("creationTimestamp", "")); c.ok())
    last = *c;
  else
    last = now;
  const std::string schedule_key = spec.schedule + "|" + spec.time_zone;
  if (!seen_schedule.empty() && seen_schedule != schedule_key) last = std::max(last, now);
  status["observedSchedule"] = schedule_key;

  auto decision = DecideSchedule(*cron, *zone, last, now, spec.starting_deadline_seconds);
  if (!decision.ok()) return FailInvalid(job, "InvalidSpec", decision.status().message());
  if (decision->missed > 0) {
    status["missedRuns"] = status.value("missedRuns", int64_t{0}) + decision->missed;
    status["lastMissedTime"] = FormatTimestamp(*decision->latest);
    Event(job, true, "MissedSchedule",
          std::to_string(decision->missed) + " scheduled run(s) up to " +
              FormatTimestamp(*decision->latest) + " missed: " + decision->missed_reason);
  }
  if (decision->fire) {
    const TimestampMicros fire = *decision->fire;
    if (spec.concurrency_policy == "Forbid" && !active.empty()) {
      status["skippedRuns"] = status.value("skippedRuns", int64_t{0}) + 1;
      status["lastSkippedTime"] = FormatTimestamp(fire);
      Event(job, true, "SkippedRun",
            "run at " + FormatTimestamp(fire) + " skipped: concurrencyPolicy Forbid and run " +
                active.front() + " is still active");
    } else {
      if (spec.concurrency_policy == "Replace") {
        for (const auto& a : active) {
          Status s = deps_.client->Delete(MaterializationJobs(), ns, a,
                                          k8s::DeleteOptions{"Background", std::nullopt, "", ""});
          if (s.ok() || k8s::IsNotFound(s))
            Event(job, false, "ReplacedRun",
                  "deleted active run " + a + " (concurrencyPolicy Replace)");
        }
        active.clear();
      }
      TimestampMicros previous = last;
      Json child = MakeChildJob(job, fire, previous);
      FF_RETURN_IF_ERROR(runtime::SetControllerReference(job, &child));
      auto made = deps_.client->Create(MaterializationJobs(), child);
      if (!made.ok() && !k8s::IsAlreadyExists(made.status()))
        return made.status().WithContext("create run " + ChildName(name, fire));
      active.push_back(ChildName(name, fire));
      Event(job, false, "CreatedRun",
            "created run " + ChildName(name, fire) + " for " + FormatTimestamp(fire));
    }
  }
  if (decision->latest) status["lastScheduleTime"] = FormatTimestamp(*decision->latest);
  status["active"] = active;
  status["nextScheduleTime"] = FormatTimestamp(decision->next);
  runtime::SetStatusCondition(&conditions,
                              {"Scheduled", "True", "Scheduled",
                               "next run at " + FormatTimestamp(decision->next), generation},
                              now);
  FF_RETURN_IF_ERROR(WriteStatus(job, status));
  return runtime::ReconcileResult{
      false, std::max<DurationMicros>(decision->next - now, kMicrosPerSecond / 10)};
}

}  // namespace featureforge::controllers::mj
