// An in-memory OnlineStore with the same rules as the real stores (monotonic writes, equal-ts
// rule, chunk validation). For unit tests of code that uses an OnlineStore; not for production.
#pragma once

#include <memory>

#include "featureforge/online/online_store.h"

namespace featureforge::online {

std::unique_ptr<OnlineStore> NewMemoryOnlineStore();

}  // namespace featureforge::online
