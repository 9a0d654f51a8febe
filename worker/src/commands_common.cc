#include <cstdio>

#include "featureforge/worker/commands.h"

namespace featureforge::worker {

int ExitCodeFor(const Status& status) {
  switch (status.code()) {
    case StatusCode::kOk:
      return 0;
    case StatusCode::kInvalidArgument:
    case StatusCode::kNotFound:
    case StatusCode::kAlreadyExists:
    case StatusCode::kNotSupported:
    case StatusCode::kFailedPrecondition:
      return 2;
    default:
      return 1;
  }
}

int ReportError(const Status& status) {
  std::fprintf(stderr, "error: %s\n", status.message().c_str());
  return ExitCodeFor(status);
}

}  // namespace featureforge::worker
