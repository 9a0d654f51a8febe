#include "featureforge/runtime/signals.h"

#include <csignal>

namespace featureforge::runtime {
namespace {
volatile std::sig_atomic_t g_shutdown = 0;
extern "C" void OnShutdownSignal(int) { g_shutdown = 1; }
}  // namespace

void InstallShutdownSignalHandlers() {
  struct sigaction action {};
  action.sa_handler = OnShutdownSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
}

bool ShutdownRequested() { return g_shutdown != 0; }

void RequestShutdownForTesting(bool requested) { g_shutdown = requested ? 1 : 0; }

}  // namespace featureforge::runtime
