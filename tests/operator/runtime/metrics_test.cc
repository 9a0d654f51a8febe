#include "featureforge/runtime/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace featureforge::runtime {
namespace {

using ::testing::HasSubstr;

TEST(MetricsTest, RendersPrometheusTextFormat) {
  MetricsRegistry registry;
  registry.GetCounter("reconcile_total", "Reconciles", {{"controller", "mj"}, {"result", "ok"}})
      .Inc(3);
  registry.GetCounter("reconcile_total", "Reconciles", {{"controller", "mj"}, {"result", "ok"}})
      .Inc();
  registry.GetGauge("queue_depth", "Depth\nof \\queue", {{"name", "a\"b"}}).Set(2.5);
  auto& h =
      registry.GetHistogram("duration_seconds", "Durations", {{"controller", "mj"}}, {0.1, 1});
  h.Observe(0.05);
  h.Observe(0.5);
  h.Observe(7);
  registry.AddCallback("restarts_total", "Restarts", "counter", {}, [] { return 42.0; });
  std::string text = registry.RenderText();
  EXPECT_EQ(text,
            "# HELP duration_seconds Durations\n"
            "# TYPE duration_seconds histogram\n"
            "duration_seconds_bucket{controller=\"mj\",le=\"0.1\"} 1\n"
            "duration_seconds_bucket{controller=\"mj\",le=\"1\"} 2\n"
            "duration_seconds_bucket{controller=\"mj\",le=\"+Inf\"} 3\n"
            "duration_seconds_sum{controller=\"mj\"} 7.55\n"
            "duration_seconds_count{controller=\"mj\"} 3\n"
            "# HELP queue_depth Depth\\nof \\\\queue\n"
            "# TYPE queue_depth gauge\n"
            "queue_depth{name=\"a\\\"b\"} 2.5\n"
            "# HELP reconcile_total Reconciles\n"
            "# TYPE reconcile_total counter\n"
            "reconcile_total{controller=\"mj\",result=\"ok\"} 4\n"
            "# HELP restarts_total Restarts\n"
            "# TYPE restarts_total counter\n"
            "restarts_total 42\n");
}

TEST(MetricsTest, ValueFormatting) {
  EXPECT_EQ(FormatMetricValue(0), "0");
  EXPECT_EQ(FormatMetricValue(0.005), "0.005");
  EXPECT_EQ(FormatMetricValue(1e20), "1e+20");
  EXPECT_EQ(FormatMetricValue(1.0 / 0.0), "+Inf");
  EXPECT_EQ(EscapeLabelValue("a\\b\n"), "a\\\\b\\n");
}

TEST(MetricsTest, RemoveCallback) {
  MetricsRegistry registry;
  registry.AddCallback("g", "G", "gauge", {{"x", "1"}}, [] { return 1.0; });
  EXPECT_THAT(registry.RenderText(), HasSubstr("g{x=\"1\"} 1"));
  registry.RemoveCallback("g", {{"x", "1"}});
  EXPECT_THAT(registry.RenderText(), ::testing::Not(HasSubstr("g{x=")));
}

}  // namespace
}  // namespace featureforge::runtime
