// POST /retrieve-online-documents. The vector engine (hnswlib index per embedding view) adds
// the engine call that serves it; until then the route answers 501 so clients get a clear
// answer instead of a 404.
#include "server_internal.h"

namespace featureforge::worker::server {

http::Response HandleRetrieveOnlineDocuments(FeatureServer::State& /*state*/,
                                             const http::Request& /*request*/) {
  return http::JsonError(501, "not supported: retrieve-online-documents");
}

}  // namespace featureforge::worker::server
