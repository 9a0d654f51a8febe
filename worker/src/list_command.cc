#include <iostream>
#include <nlohmann/json.hpp>

#include "featureforge/store/feature_store.h"
#include "featureforge/worker/commands.h"

namespace featureforge::worker {
namespace {

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ",") + i;
  return out;
}

nlohmann::json ListingJson(const store::RepoListing& listing) {
  nlohmann::json entities = nlohmann::json::array();
  for (const auto& e : listing.entities) {
    entities.push_back({{"name", e.name},
                        {"join_keys", e.join_keys},
                        {"value_type", std::string(ValueTypeName(e.value_type))},
                        {"description", e.description}});
  }
  nlohmann::json views = nlohmann::json::array();
  for (const auto& v : listing.views) {
    views.push_back(
        {{"name", v.name},
         {"kind", v.kind},
         {"entities", v.entities},
         {"features", v.features},
         {"ttl", FormatDuration(v.ttl)},
         {"online", v.online},
         {"offline", v.offline},
         {"applied", v.applied},
         {"last_materialized_end", v.last_materialized_end
                                       ? nlohmann::json(FormatTimestamp(*v.last_materialized_end))
                                       : nlohmann::json()},
         {"rows_written_total", v.rows_written_total}});
  }
  nlohmann::json services = nlohmann::json::array();
  for (const auto& s : listing.services) {
    nlohmann::json projections = nlohmann::json::array();
    for (const auto& p : s.projections) {
      projections.push_back({{"view", p.view}, {"features", p.features}});
    }
    services.push_back({{"name", s.name}, {"features", projections}});
  }
  return {{"project", listing.project},
          {"entities", entities},
          {"feature_views", views},
          {"feature_services", services}};
}

void PrintListing(const store::RepoListing& listing, const std::string& what) {
  if (what == "entities" || what == "all") {
    Table t{{"ENTITY", "JOIN KEYS", "TYPE", "DESCRIPTION"}, {}};
    for (const auto& e : listing.entities) {
      t.rows.push_back(
          {e.name, Join(e.join_keys), std::string(ValueTypeName(e.value_type)), e.description});
    }
    PrintTable(std::cout, t);
  }
  if (what == "views" || what == "all") {
    if (what == "all") std::cout << '\n';
    Table t{{"VIEW", "KIND", "ENTITIES", "FEATURES", "TTL", "ONLINE", "APPLIED", "WATERMARK",
             "ROWS WRITTEN"},
            {}};
    for (const auto& v : listing.views) {
      t.rows.push_back({v.name, v.kind, Join(v.entities), std::to_string(v.features.size()),
                        FormatDuration(v.ttl), v.online ? "yes" : "no", v.applied ? "yes" : "no",
                        v.last_materialized_end ? FormatTimestamp(*v.last_materialized_end) : "-",
                        std::to_string(v.rows_written_total)});
    }
    PrintTable(std::cout, t);
  }
  if (what == "services" || what == "all") {
    if (what == "all") std::cout << '\n';
    Table t{{"SERVICE", "FEATURES"}, {}};
    for (const auto& s : listing.services) {
      std::vector<std::string> parts;
      for (const auto& p : s.projections) {
        parts.push_back(p.features.empty() ? p.view + ":*" : p.view + ":" + Join(p.features));
      }
      std::string text;
      for (const auto& part : parts) text += (text.empty() ? "" : " ") + part;
      t.rows.push_back({s.name, text});
    }
    PrintTable(std::cout, t);
  }
}

}  // namespace

void RegisterList(CLI::App& app, const GlobalOptions& global, int* exit_code) {
  auto what = std::make_shared<std::string>("all");
  CLI::App* cmd = app.add_subcommand(
      "list", "List entities, feature views (with their watermarks) and feature services");
  cmd->add_option("WHAT", *what, "all | entities | views | services")
      ->check(CLI::IsMember({"all", "entities", "views", "services"}))
      ->capture_default_str();
  cmd->callback([&global, what, exit_code] {
    auto fs = store::FeatureStore::Open(global.repo_dir);
    if (!fs.ok()) {
      *exit_code = ReportError(fs.status());
      return;
    }
    auto listing = (*fs)->List();
    if (!listing.ok()) {
      *exit_code = ReportError(listing.status());
      return;
    }
    if (global.format() == OutputFormat::kJson) {
      std::cout << ListingJson(*listing).dump(2) << '\n';
    } else {
      PrintListing(*listing, *what);
    }
    *exit_code = 0;
  });
}

}  // namespace featureforge::worker
