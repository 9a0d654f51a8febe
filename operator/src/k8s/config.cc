#include "featureforge/k8s/config.h"

#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace featureforge::k8s {
namespace {

Result<std::string> ReadWholeFile(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IOError("cannot read " + what + " '" + path + "'");
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string Trim(std::string s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  size_t e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

// Standard base64 (kubeconfig *-data fields); whitespace is ignored.
Result<std::string> DecodeBase64(const std::string& in) {
  std::string out;
  int value = 0;
  int bits = -8;
  size_t padding = 0;
  for (char c : in) {
    int d;
    if (c >= 'A' && c <= 'Z')
      d = c - 'A';
    else if (c >= 'a' && c <= 'z')
      d = c - 'a' + 26;
    else if (c >= '0' && c <= '9')
      d = c - '0' + 52;
    else if (c == '+')
      d = 62;
    else if (c == '/')
      d = 63;
    else if (c == '=') {
      ++padding;
      continue;
    } else if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
      continue;
    else
      return Status::InvalidArgument(std::string("invalid base64 character '") + c + "'");
    if (padding > 0) return Status::InvalidArgument("base64 data continues after '='");
    value = (value << 6) | d;
    bits += 6;
    if (bits >= 0) {
      out.push_back(static_cast<char>((value >> bits) & 0xFF));
      bits -= 8;
    }
  }
  return out;
}

std::string JoinPath(const std::string& base_dir, const std::string& path) {
  if (path.empty() || path[0] == '/' || base_dir.empty()) return path;
  return base_dir + "/" + path;
}

class KubeconfigParser {
 public:
  KubeconfigParser(std::string file_name, std::string base_dir)
      : file_(std::move(file_name)), base_dir_(std::move(base_dir)) {}

  Result<RestConfig> Parse(const std::string& text, const std::string& wanted_context) {
    YAML::Node root;
    try {
      root = YAML::Load(text);
    } catch (const YAML::Exception& e) {
      return Status::InvalidArgument("kubeconfig " + file_ + ": line " +
                                     std::to_string(e.mark.line + 1) + ": " + e.msg);
    }
    if (!root.IsMap()) return Error(root, "document", "must be a mapping");
    std::string context_name = wanted_context;
    if (context_name.empty()) {
      FF_ASSIGN_OR_RETURN(context_name, OptionalString(root, "current-context"));
      if (context_name.empty()) {
        return Error(root, "current-context", "is not set and no context was requested");
      }
    }
    FF_ASSIGN_OR_RETURN(YAML::Node context, FindNamed(root, "contexts", "context", context_name));
    FF_ASSIGN_OR_RETURN(std::string cluster_name, RequiredString(context, "cluster"));
    FF_ASSIGN_OR_RETURN(std::string user_name, OptionalString(context, "user"));
    RestConfig config;
    FF_ASSIGN_OR_RETURN(config.default_namespace, OptionalString(context, "namespace"));
    config.source = "kubeconfig " + file_ + " context " + context_name;

    FF_ASSIGN_OR_RETURN(YAML::Node cluster, FindNamed(root, "clusters", "cluster", cluster_name));
    FF_RETURN_IF_ERROR(ParseCluster(cluster, cluster_name, &config));
    if (!user_name.empty()) {
      FF_ASSIGN_OR_RETURN(YAML::Node user, FindNamed(root, "users", "user", user_name));
      FF_RETURN_IF_ERROR(ParseUser(user, user_name, &config));
    }
    return config;
  }

 private:
  Status Error(const YAML::Node& node, const std::string& field, const std::string& problem) {
    std::string where = "kubeconfig " + file_;
    if (node.IsDefined() && node.Mark().line >= 0) {
      where += ": line " + std::to_string(node.Mark().line + 1);
    }
    return Status::InvalidArgument(where + ": field '" + field + "' " + problem);
  }

  Result<std::string> OptionalString(const YAML::Node& map, const std::string& key,
                                     const std::string& path_prefix = "") {
    YAML::Node v = map[key];
    if (!v.IsDefined() || v.IsNull()) return std::string();
    if (!v.IsScalar()) return Error(v, path_prefix + key, "must be a string");
    return v.Scalar();
  }

  Result<std::string> RequiredString(const YAML::Node& map, const std::string& key,
                                     const std::string& path_prefix = "") {
    FF_ASSIGN_OR_RETURN(std::string v, OptionalString(map, key, path_prefix));
    if (v.empty()) return Error(map, path_prefix + key, "is required");
    return v;
  }

  // contexts[name=...].context and the like.
  Result<YAML::Node> FindNamed(const YAML::Node& root, const std::string& list_key,
                               const std::string& item_key, const std::string& name) {
    YAML::Node list = root[list_key];
    if (list.IsDefined() && !list.IsNull() && !list.IsSequence()) {
      return Error(list, list_key, "must be a list");
    }
    if (list.IsSequence()) {
      for (size_t i = 0; i < list.size(); ++i) {
        YAML::Node entry = list[i];
        std::string prefix = list_key + "[" + std::to_string(i) + "].";
        if (!entry.IsMap())
          return Error(entry, list_key + "[" + std::to_string(i) + "]", "must be a mapping");
        FF_ASSIGN_OR_RETURN(std::string entry_name, OptionalString(entry, "name", prefix));
        if (entry_name != name) continue;
        YAML::Node body = entry[item_key];
        if (!body.IsMap()) return Error(entry, prefix + item_key, "must be a mapping");
        path_ = list_key + "[name=" + name + "]." + item_key + ".";
        return body;
      }
    }
    return Error(root, list_key, "has no entry named '" + name + "'");
  }

  Result<std::string> DataOrFile(const YAML::Node& map, const std::string& data_key,
                                 const std::string& file_key) {
    FF_ASSIGN_OR_RETURN(std::string data, OptionalString(map, data_key, path_));
    FF_ASSIGN_OR_RETURN(std::string file, OptionalString(map, file_key, path_));
    if (!data.empty()) {
      auto decoded = DecodeBase64(data);
      if (!decoded.ok()) return Error(map[data_key], path_ + data_key, decoded.status().message());
      return std::move(decoded).value();
    }
    if (!file.empty()) {
      auto content = ReadWholeFile(JoinPath(base_dir_, file), path_ + file_key);
      if (!content.ok()) {
        return Status::InvalidArgument("kubeconfig " + file_ + ": " + content.status().message());
      }
      return std::move(content).value();
    }
    return std::string();
  }

  Status ParseCluster(const YAML::Node& cluster, const std::string& name, RestConfig* config) {
    FF_ASSIGN_OR_RETURN(config->server, RequiredString(cluster, "server", path_));
    while (!config->server.empty() && config->server.back() == '/') config->server.pop_back();
    if (config->server.rfind("https://", 0) != 0 && config->server.rfind("http://", 0) != 0) {
      return Error(cluster["server"], path_ + "server",
                   "must start with https:// or http:// (got '" + config->server + "')");
    }
    YAML::Node insecure = cluster["insecure-skip-tls-verify"];
    if (insecure.IsDefined() && !insecure.IsNull()) {
      bool value = false;
      if (!insecure.IsScalar() || !YAML::convert<bool>::decode(insecure, value)) {
        return Error(insecure, path_ + "insecure-skip-tls-verify", "must be true or false");
      }
      config->insecure_skip_tls_verify = value;  // honoured only when explicitly true
    }
    FF_ASSIGN_OR_RETURN(config->ca_pem,
                        DataOrFile(cluster, "certificate-authority-data", "certificate-authority"));
    if (config->insecure_skip_tls_verify && !config->ca_pem.empty()) {
      return Error(cluster, path_ + "insecure-skip-tls-verify",
                   "cannot be true together with a certificate authority (cluster '" + name + "')");
    }
    return Status::OK();
  }

  Status ParseUser(const YAML::Node& user, const std::string& name, RestConfig* config) {
    if (user["exec"].IsDefined() || user["auth-provider"].IsDefined()) {
      return Status::NotSupported("kubeconfig " + file_ + ": user '" + name +
                                  "' uses exec/auth-provider credentials");
    }
    FF_ASSIGN_OR_RETURN(config->client_cert_pem,
                        DataOrFile(user, "client-certificate-data", "client-certificate"));
    FF_ASSIGN_OR_RETURN(config->client_key_pem, DataOrFile(user, "client-key-data", "client-key"));
    if (config->client_cert_pem.empty() != config->client_key_pem.empty()) {
      return Error(user,
                   path_ + (config->client_cert_pem.empty() ? "client-certificate" : "client-key"),
                   "is required when the other half of the client key pair is set");
    }
    FF_ASSIGN_OR_RETURN(config->bearer_token, OptionalString(user, "token", path_));
    FF_ASSIGN_OR_RETURN(std::string token_file, OptionalString(user, "tokenFile", path_));
    if (config->bearer_token.empty() && !token_file.empty()) {
      config->token_file = std::make_shared<TokenFile>(JoinPath(base_dir_, token_file));
      auto token = config->token_file->Token();
      if (!token.ok()) {
        return Status::InvalidArgument("kubeconfig " + file_ + ": " + path_ +
                                       "tokenFile: " + token.status().message());
      }
    }
    return Status::OK();
  }

  std::string file_;
  std::string base_dir_;
  std::string path_;  // field path prefix of the entry being parsed
};

std::string DirName(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

Result<std::string> TokenFile::Token() {
  std::lock_guard<std::mutex> lock(mu_);
  struct stat st;
  if (stat(path_.c_str(), &st) != 0) {
    if (loaded_) return token_;  // keep the last token while a rotation swaps the file
    return Status::IOError("cannot read token file '" + path_ + "'");
  }
  int64_t mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  if (loaded_ && mtime_ns == mtime_ns_ && st.st_size == size_ && st.st_ino == inode_) {
    return token_;
  }
  FF_ASSIGN_OR_RETURN(std::string content, ReadWholeFile(path_, "token file"));
  content = Trim(std::move(content));
  if (content.empty()) {
    if (loaded_) return token_;
    return Status::InvalidArgument("token file '" + path_ + "' is empty");
  }
  token_ = std::move(content);
  loaded_ = true;
  mtime_ns_ = mtime_ns;
  size_ = st.st_size;
  inode_ = st.st_ino;
  return token_;
}

Result<std::string> RestConfig::CurrentToken() const {
  if (!bearer_token.empty()) return bearer_token;
  if (token_file) return token_file->Token();
  return std::string();
}

Result<RestConfig> ParseKubeconfig(const std::string& text, const std::string& file_name,
                                   const std::string& base_dir, const std::string& context) {
  KubeconfigParser parser(file_name, base_dir);
  try {
    return parser.Parse(text, context);
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument("kubeconfig " + file_name + ": line " +
                                   std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
}

Result<RestConfig> LoadKubeconfig(const std::string& path, const std::string& context) {
  auto text = ReadWholeFile(path, "kubeconfig");
  if (!text.ok()) return text.status();
  return ParseKubeconfig(*text, path, DirName(path), context);
}

Result<RestConfig> InClusterConfig(const InClusterPaths& paths) {
  std::string host = paths.host;
  std::string port = paths.port;
  if (host.empty()) {
    const char* h = std::getenv("KUBERNETES_SERVICE_HOST");
    const char* p = std::getenv("KUBERNETES_SERVICE_PORT");
    if (h == nullptr || p == nullptr || *h == '\0' || *p == '\0') {
      return Status::FailedPrecondition(
          "in-cluster config: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set");
    }
    host = h;
    port = p;
  }
  RestConfig config;
  // IPv6 service addresses need brackets in a URL.
  bool ipv6 = host.find(':') != std::string::npos && host.front() != '[';
  config.server = "https://" + (ipv6 ? "[" + host + "]" : host) + ":" + port;
  config.token_file = std::make_shared<TokenFile>(paths.token_path);
  auto token = config.token_file->Token();
  if (!token.ok()) return token.status().WithContext("in-cluster config");
  auto ca = ReadWholeFile(paths.ca_path, "service account CA bundle");
  if (!ca.ok()) return ca.status().WithContext("in-cluster config");
  config.ca_pem = std::move(ca).value();
  auto ns = ReadWholeFile(paths.namespace_path, "service account namespace");
  if (ns.ok()) config.default_namespace = Trim(*ns);
  config.source = "in-cluster service account (" + paths.token_path + ")";
  return config;
}

Result<RestConfig> LoadDefaultConfig(const std::string& context) {
  if (const char* env = std::getenv("KUBECONFIG"); env != nullptr && *env != '\0') {
    std::string first(env);
    first = first.substr(0, first.find(':'));
    return LoadKubeconfig(first, context);
  }
  if (const char* host = std::getenv("KUBERNETES_SERVICE_HOST"); host != nullptr && *host) {
    return InClusterConfig();
  }
  const char* home = std::getenv("HOME");
  if (home == nullptr) return Status::NotFound("no kubeconfig: KUBECONFIG and HOME are unset");
  return LoadKubeconfig(std::string(home) + "/.kube/config", context);
}

}  // namespace featureforge::k8s
