// SIGTERM/SIGINT handling for graceful shutdown: the handler only sets a flag; the manager
// polls it.
#pragma once

namespace featureforge::runtime {

// Installs handlers for SIGTERM and SIGINT (idempotent).
void InstallShutdownSignalHandlers();
// True once SIGTERM or SIGINT arrived after InstallShutdownSignalHandlers().
bool ShutdownRequested();
// For tests: pretend a signal arrived / clear it.
void RequestShutdownForTesting(bool requested);

}  // namespace featureforge::runtime
