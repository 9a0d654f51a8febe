// HeadServer: the ClusterHead gRPC service (sync API) over HeadState, plus a ticker thread that
// notices lost workers and passed deadlines even when nobody calls.
#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <condition_variable>
#include <thread>

#include "featureforge/cluster/head.h"
#include "featureforge/cluster/v1/cluster.grpc.pb.h"
#include "grpc_util.h"
#include "head_state.h"

namespace featureforge::cluster {
namespace {

class ClusterHeadService final : public v1::ClusterHead::Service {
 public:
  explicit ClusterHeadService(HeadState* state) : state_(state) {}

  grpc::Status RegisterWorker(grpc::ServerContext* context,
                              const v1::RegisterWorkerRequest* request,
                              v1::RegisterWorkerResponse* response) override {
    auto registered = state_->RegisterWorker(*request);
    if (!registered.ok()) return GrpcFromStatus(registered.status());
    *response = std::move(*registered);
    spdlog::info("worker registered worker_id={} group={} pod={} slots={} peer={}",
                 request->worker_id(), request->group_name(), request->pod_name(), request->slots(),
                 context->peer());
    return grpc::Status::OK;
  }

  grpc::Status Heartbeat(grpc::ServerContext*, const v1::HeartbeatRequest* request,
                         v1::HeartbeatResponse* response) override {
    *response = state_->Heartbeat(*request);
    for (const auto& id : response->cancel_task_ids()) {
      spdlog::info("heartbeat asks worker {} to stop task {}", request->worker_id(), id);
    }
    return grpc::Status::OK;
  }

  grpc::Status LeaseTask(grpc::ServerContext*, const v1::LeaseTaskRequest* request,
                         v1::LeaseTaskResponse* response) override {
    *response = state_->LeaseTask(*request);
    if (response->leased()) {
      spdlog::debug("leased job={} task={} worker={} lease={}", response->task().job_id(),
                    response->task().task_id(), request->worker_id(),
                    response->task().lease_count());
    }
    return grpc::Status::OK;
  }

  grpc::Status ReportTaskResult(grpc::ServerContext*, const v1::ReportTaskResultRequest* request,
                                v1::ReportTaskResultResponse*) override {
    state_->ReportTaskResult(*request);
    spdlog::debug("result task={} worker={} ok={}", request->task_id(), request->worker_id(),
                  request->result().ok());
    return grpc::Status::OK;
  }

  grpc::Status SubmitJob(grpc::ServerContext*, const v1::SubmitJobRequest* request,
                         v1::SubmitJobResponse* response) override {
    auto submitted = state_->SubmitJob(*request);
    if (!submitted.ok()) return GrpcFromStatus(submitted.status());
    *response = *submitted;
    spdlog::info("job submitted job={} tasks={} added={}", request->job_id(), request->tasks_size(),
                 response->tasks_added());
    return grpc::Status::OK;
  }

  grpc::Status GetJob(grpc::ServerContext*, const v1::GetJobRequest* request,
                      v1::Job* response) override {
    auto job = state_->GetJob(request->job_id());
    if (!job.ok()) return GrpcFromStatus(job.status());
    *response = std::move(*job);
    return grpc::Status::OK;
  }

  grpc::Status CancelJob(grpc::ServerContext*, const v1::CancelJobRequest* request,
                         v1::CancelJobResponse*) override {
    Status status = state_->CancelJob(request->job_id());
    if (status.ok()) spdlog::info("job cancelled job={}", request->job_id());
    return GrpcFromStatus(status);
  }

  grpc::Status GetClusterStatus(grpc::ServerContext*, const v1::GetClusterStatusRequest*,
                                v1::ClusterStatus* response) override {
    *response = state_->GetClusterStatus();
    return grpc::Status::OK;
  }

 private:
  HeadState* state_;
};

class GrpcHeadServer final : public HeadServer {
 public:
  explicit GrpcHeadServer(const HeadOptions& options)
      : options_(options),
        state_(
            HeadStateOptions{NewHeadId(), options.heartbeat_interval_ms,
                             options.heartbeat_timeout_ms, options.default_max_lease_count,
                             /*max_lease_wait_ms=*/30000, options.finished_job_retention_s * 1000},
            NowUnixMs),
        service_(&state_) {}

  ~GrpcHeadServer() override { Shutdown(); }

  Status Start() {
    grpc::ServerBuilder builder;
    const std::string listen = options_.bind_address + ":" + std::to_string(options_.port);
    builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&service_);
    builder.SetMaxReceiveMessageSize(64 * 1024 * 1024);
    // Without this, a second head on a port in use would share it (SO_REUSEPORT) instead of
    // failing, and workers would reach either one.
    builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
    server_ = builder.BuildAndStart();
    if (server_ == nullptr || port_ <= 0) {
      return Status::IOError("head cannot listen on " + listen +
                             " (address in use or not a local address?)");
    }
    ticker_ = std::thread([this] { TickUntilStopped(); });
    return Status::OK();
  }

  int port() const override { return port_; }
  std::string address() const override {
    return options_.bind_address + ":" + std::to_string(port_);
  }
  const std::string& head_id() const override { return state_.head_id(); }

  void Shutdown() override {
    if (stopped_.exchange(true)) return;
    state_.Shutdown();  // long polls answer now instead of holding shutdown up
    if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
    {
      std::lock_guard<std::mutex> lock(ticker_mu_);
      ticker_stop_ = true;
    }
    ticker_cv_.notify_all();
    if (ticker_.joinable()) ticker_.join();
    if (server_) server_->Wait();
  }

 private:
  void TickUntilStopped() {
    const auto period =
        std::chrono::milliseconds(std::clamp<int64_t>(options_.heartbeat_interval_ms / 2, 20, 500));
    std::unique_lock<std::mutex> lock(ticker_mu_);
    while (!ticker_cv_.wait_for(lock, period, [this] { return ticker_stop_; })) {
      state_.Tick();
    }
  }

  const HeadOptions options_;
  HeadState state_;
  ClusterHeadService service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::atomic<bool> stopped_{false};
  std::thread ticker_;
  std::mutex ticker_mu_;
  std::condition_variable ticker_cv_;
  bool ticker_stop_ = false;
};

}  // namespace

Result<std::unique_ptr<HeadServer>> HeadServer::Start(const HeadOptions& options) {
  if (options.heartbeat_interval_ms <= 0 || options.heartbeat_timeout_ms <= 0) {
    return Status::InvalidArgument("heartbeat interval and timeout must be positive");
  }
  if (options.heartbeat_timeout_ms <= options.heartbeat_interval_ms) {
    return Status::InvalidArgument("--heartbeat-timeout-ms (" +
                                   std::to_string(options.heartbeat_timeout_ms) +
                                   ") must be larger than --heartbeat-interval-ms (" +
                                   std::to_string(options.heartbeat_interval_ms) + ")");
  }
  auto server = std::make_unique<GrpcHeadServer>(options);
  FF_RETURN_IF_ERROR(server->Start());
  return std::unique_ptr<HeadServer>(std::move(server));
}

}  // namespace featureforge::cluster
