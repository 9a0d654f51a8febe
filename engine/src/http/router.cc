// Router, JSON response helpers and status mapping: the parts of the HTTP library without Beast.
#include <nlohmann/json.hpp>

#include "featureforge/http/server.h"

namespace featureforge::http {

std::string Request::Header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

void Router::Add(const std::string& method, const std::string& path, Handler handler) {
  routes_[path][method] = std::move(handler);
}

std::string Router::RouteOf(const std::string& path) const {
  return routes_.count(path) ? path : std::string();
}

Response Router::Dispatch(const Request& request) const {
  auto route = routes_.find(request.path);
  if (route == routes_.end()) {
    return JsonError(404, "no route for " + request.path, "path");
  }
  auto handler = route->second.find(request.method);
  if (handler == route->second.end()) {
    std::string allow;
    for (const auto& [method, h] : route->second) allow += (allow.empty() ? "" : ", ") + method;
    Response response = JsonError(
        405, request.method + " is not allowed on " + request.path + " (allowed: " + allow + ")",
        "method");
    response.headers.emplace_back("Allow", allow);
    return response;
  }
  // Handlers return errors as responses; anything thrown is a bug, answered as 500 without
  // taking the server down.
  try {
    return handler->second(request);
  } catch (const std::exception& e) {
    return JsonError(500, std::string("internal error: ") + e.what());
  } catch (...) {
    return JsonError(500, "internal error");
  }
}

Response JsonError(int status, const std::string& message, const std::string& field) {
  nlohmann::json body = {{"error", message}};
  if (!field.empty()) body["field"] = field;
  return JsonBody(status, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

Response JsonBody(int status, const std::string& json_text) {
  Response response;
  response.status = status;
  response.content_type = "application/json";
  response.body = json_text;
  return response;
}

int HttpStatusFor(const Status& status) {
  switch (status.code()) {
    case StatusCode::kOk:
      return 200;
    case StatusCode::kInvalidArgument:
    case StatusCode::kNotFound:
      return 422;
    case StatusCode::kFailedPrecondition:
    case StatusCode::kConflict:
    case StatusCode::kAlreadyExists:
      return 409;
    case StatusCode::kNotSupported:
      return 501;
    case StatusCode::kUnavailable:
    case StatusCode::kTimeout:
      return 503;
    default:
      return 500;
  }
}

const char* ReasonPhrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    case 413:
      return "Payload Too Large";
    case 422:
      return "Unprocessable Entity";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    default:
      return "";
  }
}

}  // namespace featureforge::http
