#include "featureforge/controllers/operator_config.h"

namespace featureforge::controllers {

Status ValidateOperatorConfig(const OperatorConfig& config) {
  auto check_workers = [](const char* name, int value) -> Status {
    if (value < 1 || value > 256) {
      return Status::InvalidArgument(std::string(name) + " must be in [1, 256], got " +
                                     std::to_string(value));
    }
    return Status::OK();
  };
  FF_RETURN_IF_ERROR(check_workers("featurestore_workers", config.featurestore_workers));
  FF_RETURN_IF_ERROR(
      check_workers("materializationjob_workers", config.materializationjob_workers));
  FF_RETURN_IF_ERROR(check_workers("computecluster_workers", config.computecluster_workers));
  if (config.executor_image.empty()) {
    return Status::InvalidArgument("executor_image must not be empty");
  }
  if (config.feature_server_image.empty()) {
    return Status::InvalidArgument("feature_server_image must not be empty");
  }
  if (config.featureforge_command.empty()) {
    return Status::InvalidArgument("featureforge_command must not be empty");
  }
  if (config.feature_server_port < 1 || config.feature_server_port > 65535) {
    return Status::InvalidArgument("feature_server_port must be in [1, 65535], got " +
                                   std::to_string(config.feature_server_port));
  }
  if (config.work_dir.empty()) return Status::InvalidArgument("work_dir must not be empty");
  if (config.resync_seconds < 1) {
    return Status::InvalidArgument("resync_seconds must be >= 1, got " +
                                   std::to_string(config.resync_seconds));
  }
  return Status::OK();
}

}  // namespace featureforge::controllers
