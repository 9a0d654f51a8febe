// A small Prometheus metrics registry (counters, gauges, histograms, callback metrics) rendered
// in the text exposition format 0.0.4.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace featureforge::runtime {

using Labels = std::map<std::string, std::string>;

class Counter {
 public:
  void Inc(double by = 1.0);
  double Value() const;

 private:
  mutable std::mutex mu_;
  double value_ = 0;
};

class Gauge {
 public:
  void Set(double value);
  void Add(double by);
  double Value() const;

 private:
  mutable std::mutex mu_;
  double value_ = 0;
};

class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void Observe(double value);
  struct Snapshot {
    std::vector<double> upper_bounds;
    std::vector<uint64_t> cumulative_counts;  // one per bound, then +Inf
    double sum = 0;
    uint64_t count = 0;
  };
  Snapshot Read() const;

 private:
  mutable std::mutex mu_;
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // per bucket (not cumulative), last is +Inf
  double sum_ = 0;
  uint64_t count_ = 0;
};

// controller-runtime's reconcile-time buckets (seconds).
std::vector<double> DefaultDurationBuckets();

class MetricsRegistry {
 public:
  // The same (name, labels) always returns the same metric. A name is one type for life:
  // asking for it as another type aborts (a programming error, like Prometheus' client).
  Counter& GetCounter(const std::string& name, const std::string& help, const Labels& labels = {});
  Gauge& GetGauge(const std::string& name, const std::string& help, const Labels& labels = {});
  Histogram& GetHistogram(const std::string& name, const std::string& help,
                          const Labels& labels = {},
                          std::vector<double> buckets = DefaultDurationBuckets());
  // A metric read at scrape time (queue depth, watch restarts). `type` is "gauge" or "counter".
  void AddCallback(const std::string& name, const std::string& help, const std::string& type,
                   const Labels& labels, std::function<double()> read);
  // Removes every series with exactly these labels from the callback metric `name`.
  void RemoveCallback(const std::string& name, const Labels& labels);

  std::string RenderText() const;

 private:
  struct Family {
    std::string help;
    std::string type;
    std::map<Labels, std::unique_ptr<Counter>> counters;
    std::map<Labels, std::unique_ptr<Gauge>> gauges;
    std::map<Labels, std::unique_ptr<Histogram>> histograms;
    std::map<Labels, std::function<double()>> callbacks;
  };
  Family& FamilyLocked(const std::string& name, const std::string& help, const std::string& type);

  mutable std::mutex mu_;
  std::map<std::string, Family> families_;
};

// Prometheus text helpers, exposed for tests.
std::string FormatMetricValue(double value);
std::string EscapeLabelValue(const std::string& value);

}  // namespace featureforge::runtime
