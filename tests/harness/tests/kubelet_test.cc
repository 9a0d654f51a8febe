// The process kubelet and the Deployment controller against ff-apiserver, driven by kubectl.
#include <gmock/gmock.h>
#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "harness_test_util.h"

namespace ffharness::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

class KubeletTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new ApiServerProcess();
    ASSERT_TRUE(server_->Start());
    kubelet_ = new BackgroundCommand(
        {BinaryPath("tests/harness/ff-kubelet"), "--kubeconfig", server_->kubeconfig(),
         "--root-dir", server_->dir() + "/kubelet", "--binary", "featureforge-operator=/bin/sh",
         "--pod-kubeconfig", server_->kubeconfig()},
        server_->dir() + "/kubelet.log");
    controller_ = new BackgroundCommand({BinaryPath("tests/harness/ff-deployment-controller"),
                                         "--kubeconfig", server_->kubeconfig()},
                                        server_->dir() + "/controller.log");
  }
  static void TearDownTestSuite() {
    delete controller_;
    delete kubelet_;  // SIGKILL; the pods' own process groups are killed by the tests' deletes
    delete server_;
  }
  CommandResult Kubectl(const std::vector<std::string>& args, const std::string& stdin_text = "") {
    return server_->Kubectl(args, stdin_text);
  }
  std::string Jsonpath(const std::string& object, const std::string& path) {
    return Kubectl({"get", object, "-o", "jsonpath={" + path + "}"}).out;
  }
  // kubectl wait for a pod phase (generous timeout: a safety net, not an assertion on speed).
  int WaitPhase(const std::string& pod, const std::string& phase) {
    return Kubectl(
               {"wait", "--for=jsonpath={.status.phase}=" + phase, "pod/" + pod, "--timeout=120s"})
        .exit_code;
  }
  std::string Logs() { return kubelet_->Output(); }

  static ApiServerProcess* server_;
  static BackgroundCommand* kubelet_;
  static BackgroundCommand* controller_;
};

ApiServerProcess* KubeletTest::server_ = nullptr;
BackgroundCommand* KubeletTest::kubelet_ = nullptr;
BackgroundCommand* KubeletTest::controller_ = nullptr;

TEST_F(KubeletTest, PodRunsToSuccessWithEnvLogsAndTerminationMessage) {
  auto r = server_->Apply(R"YAML(
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {greeting: hello, extra: from-envfrom}
---
apiVersion: v1
kind: Secret
metadata: {name: creds}
stringData: {token: s3cret}
---
apiVersion: v1
kind: Pod
metadata: {name: ok, labels: {app: ok}}
spec:
  restartPolicy: Never
  containers:
  - name: main
    image: featureforge:test
    command: [sh, -c]
    args: ['echo "$(GREETING) $TOKEN $POD_NAME $APP $MY_IP $EXTRA"; printf rows=42 > $FF_TERMINATION_MESSAGE_PATH']
    envFrom: [{configMapRef: {name: settings}, prefix: CM_}]
    env:
    - {name: GREETING, valueFrom: {configMapKeyRef: {name: settings, key: greeting}}}
    - {name: TOKEN, valueFrom: {secretKeyRef: {name: creds, key: token}}}
    - {name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
    - {name: APP, valueFrom: {fieldRef: {fieldPath: "metadata.labels['app']"}}}
    - {name: MY_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
    - {name: EXTRA, value: "$(CM_extra)"}
)YAML");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(WaitPhase("ok", "Succeeded"), 0) << Logs();
  std::string ip = Jsonpath("pod/ok", ".status.podIP");
  EXPECT_THAT(ip, StartsWith("127.0."));
  EXPECT_EQ(Jsonpath("pod/ok", ".status.containerStatuses[0].state.terminated.message"), "rows=42");
  EXPECT_EQ(Jsonpath("pod/ok", ".status.containerStatuses[0].state.terminated.exitCode"), "0");
  r = Kubectl({"logs", "ok"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "hello s3cret ok ok " + ip + " from-envfrom\n");
  EXPECT_THAT(Kubectl({"get", "pod", "ok"}).out, HasSubstr("Completed"));
  r = Kubectl({"describe", "pod", "ok"});
  EXPECT_THAT(r.out, HasSubstr("Scheduled"));
  EXPECT_THAT(r.out, HasSubstr("Started container main as process"));
}

TEST_F(KubeletTest, LogsFollowTailAndPrevious) {
  auto r = server_->Apply(R"YAML(
apiVersion: v1
kind: Pod
metadata: {name: talker}
spec:
  restartPolicy: OnFailure
  containers:
  - name: c
    image: featureforge:test
    command: [sh, -c, 'echo run; if [ -f marker ]; then echo line1; sleep 1; echo line2; exit 0; fi; touch marker; exit 1']
)YAML");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Kubectl({"wait", "--for=jsonpath={.status.containerStatuses[0].restartCount}=1", "pod/talker",
               "--timeout=120s"});
  ASSERT_EQ(r.exit_code, 0) << r.err << Logs();
  BackgroundCommand follow(server_->KubectlArgv({"logs", "-f", "talker"}),
                           server_->dir() + "/follow.out");
  EXPECT_EQ(follow.Wait(120), 0) << follow.Output();
  EXPECT_THAT(follow.Output(), HasSubstr("line1\nline2\n"));
  ASSERT_EQ(WaitPhase("talker", "Succeeded"), 0);
  EXPECT_EQ(Kubectl({"logs", "talker", "--tail=1"}).out, "line2\n");
  EXPECT_EQ(Kubectl({"logs", "talker", "--previous"}).out, "run\n");
}

TEST_F(KubeletTest, VolumesAreMaterializedAndMountPathsMapped) {
  auto r = server_->Apply(R"YAML(
apiVersion: v1
kind: ConfigMap
metadata: {name: repo}
data: {feature_store.yaml: "project: x\n"}
---
apiVersion: v1
kind: Secret
metadata: {name: store-creds}
stringData: {token: s3cret}
---
apiVersion: v1
kind: Pod
metadata: {name: mounts}
spec:
  restartPolicy: Never
  volumes:
  - {name: repo, configMap: {name: repo}}
  - {name: creds, secret: {secretName: store-creds}}
  - {name: scratch, emptyDir: {}}
  containers:
  - name: c
    image: featureforge:test
    command: [sh, -c, 'cat /etc/ff/feature_store.yaml; cat /var/creds/token; echo; echo hi > /scratch/x; cat /scratch/x; echo $CONF']
    env: [{name: CONF, value: /etc/ff/feature_store.yaml}]
    volumeMounts:
    - {name: repo, mountPath: /etc/ff}
    - {name: creds, mountPath: /var/creds, readOnly: true}
    - {name: scratch, mountPath: /scratch}
---
apiVersion: v1
kind: Pod
metadata: {name: badvolume}
spec:
  volumes: [{name: v, awsElasticBlockStore: {volumeID: x}}]
  containers: [{name: c, image: featureforge:test, command: [sleep, "1"], volumeMounts: [{name: v, mountPath: /data}]}]
)YAML");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(WaitPhase("mounts", "Succeeded"), 0) << Logs();
  std::string logs = Kubectl({"logs", "mounts"}).out;
  EXPECT_THAT(logs, StartsWith("project: x\ns3cret\nhi\n" + server_->dir() +
                               "/kubelet/pods/default_mounts_"));
  EXPECT_THAT(logs, HasSubstr("/volumes/repo/feature_store.yaml\n"));
  ASSERT_EQ(WaitPhase("badvolume", "Failed"), 0) << Logs();
  EXPECT_THAT(Jsonpath("pod/badvolume", ".status.message"),
              HasSubstr("awsElasticBlockStore is not supported"));
}

TEST_F(KubeletTest, ImageEntrypointsMapToConfiguredBinariesAndPodsReachTheApiServer) {
  auto r = server_->Apply(R"YAML(
apiVersion: v1
kind: Pod
metadata: {name: operator}
spec:
  restartPolicy: Never
  containers:
  - name: op
    image: registry.example/featureforge-operator:dev
    args: [-c, 'echo $KUBECONFIG $KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT']
---
apiVersion: v1
kind: Pod
metadata: {name: nobinary}
spec:
  restartPolicy: Never
  containers: [{name: c, image: 'featureforge:dev', args: [materialize]}]
)YAML");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(WaitPhase("operator", "Succeeded"), 0) << Logs();
  EXPECT_EQ(Kubectl({"logs", "operator"}).out,
            server_->kubeconfig() + " 127.0.0.1:" + std::to_string(server_->port()) + "\n");
  ASSERT_EQ(WaitPhase("nobinary", "Failed"), 0) << Logs();
  EXPECT_THAT(Jsonpath("pod/nobinary", ".status.message"), HasSubstr("--binary featureforge=PATH"));
}

// The kubelet's KUBECONFIG is a host path: a pod mounting an emptyDir over the directory that
// holds it (the chart mounts one at /tmp) still reads the real file, while the pod's own paths
// under the mount move into the volume.
TEST_F(KubeletTest, HostKubeconfigIsNotMappedIntoAPodVolume) {
  const std::string kubeconfig_dir =
      server_->kubeconfig().substr(0, server_->kubeconfig().rfind('/'));
  auto r = server_->Apply(R"YAML(
apiVersion: v1
kind: Pod
metadata: {name: shadowed}
spec:
  restartPolicy: Never
  volumes: [{name: tmp, emptyDir: {}}]
  containers:
  - name: op
    image: featureforge-operator:dev
    args: [-c, 'echo $KUBECONFIG; echo $OWN; test -s "$KUBECONFIG"']
    env: [{name: OWN, value: )YAML" +
                          kubeconfig_dir + R"YAML(/own}]
    volumeMounts: [{name: tmp, mountPath: )YAML" +
                          kubeconfig_dir + R"YAML(}]
)YAML");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(WaitPhase("shadowed", "Succeeded"), 0) << Logs() << Kubectl({"logs", "shadowed"}).out;
  std::string logs = Kubectl({"logs", "shadowed"}).out;
  EXPECT_THAT(logs, StartsWith(server_->kubeconfig() + "\n"));
  EXPECT_THAT(logs, HasSubstr("/kubelet/pods/default_shadowed_"));
  EXPECT_THAT(logs, HasSubstr("/volumes/tmp/own\n"));
}

TEST_F(KubeletTest, FailingLivenessProbeRestartsTheContainer) {
  auto r = server_->Apply(R"YAML(
apiVersion: v1
kind: Pod
metadata: {name: flaky}
spec:
  containers:
  - name: c
    image: featureforge:test
    command: [sh, -c, 'if [ -f restarted ]; then touch alive; sleep 1000; fi; touch restarted; sleep 1000']
    livenessProbe: {exec: {command: [test, -f, alive]}, periodSeconds: 1, failureThreshold: 2}
)YAML");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Kubectl({"wait", "--for=jsonpath={.status.containerStatuses[0].restartCount}=1", "pod/flaky",
               "--timeout=120s"});
  ASSERT_EQ(r.exit_code, 0) << r.err << Logs();
  EXPECT_EQ(Jsonpath("pod/flaky", ".status.containerStatuses[0].lastState.terminated.exitCode"),
            "137");
  ASSERT_EQ(Kubectl({"wait", "--for=condition=Ready", "pod/flaky", "--timeout=120s"}).exit_code, 0);
  EXPECT_EQ(Jsonpath("pod/flaky", ".status.containerStatuses[0].restartCount"), "1")
      << "the restarted container passes its probe";
  ASSERT_EQ(Kubectl({"delete", "pod", "flaky", "--timeout=120s"}).exit_code, 0);
}

TEST_F(KubeletTest, ExitCodesRestartPoliciesAndFailures) {
  auto r = server_->Apply(R"YAML(
apiVersion: v1
kind: Pod
metadata: {name: fails}
spec:
  restartPolicy: Never
  containers: [{name: c, image: featureforge:test, command: [sh, -c, 'echo oops >&2; exit 3'],
                terminationMessagePolicy: FallbackToLogsOnError}]
---
apiVersion: v1
kind: Pod
metadata: {name: retries}
spec:
  restartPolicy: OnFailure
  containers: [{name: c, image: featureforge:test, command: [sh, -c, 'if [ -f marker ]; then exit 0; fi; touch marker; exit 1']}]
---
apiVersion: v1
kind: Pod
metadata: {name: foreign}
spec:
  containers: [{name: c, image: 'nginx:1.27'}]
---
apiVersion: v1
kind: Pod
metadata: {name: forbidden}
spec:
  containers: [{name: c, image: featureforge:test, command: [rm, -rf, /tmp/x]}]
)YAML");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(WaitPhase("fails", "Failed"), 0) << Logs();
  EXPECT_EQ(Jsonpath("pod/fails", ".status.containerStatuses[0].state.terminated.exitCode"), "3");
  EXPECT_EQ(Jsonpath("pod/fails", ".status.containerStatuses[0].state.terminated.message"),
            "oops\n");
  ASSERT_EQ(WaitPhase("retries", "Succeeded"), 0) << Logs();
  EXPECT_EQ(Jsonpath("pod/retries", ".status.containerStatuses[0].restartCount"), "1");
  EXPECT_EQ(Jsonpath("pod/retries", ".status.containerStatuses[0].lastState.terminated.exitCode"),
            "1");
  ASSERT_EQ(WaitPhase("foreign", "Failed"), 0) << Logs();
  EXPECT_EQ(Jsonpath("pod/foreign", ".status.reason"), "UnsupportedImage");
  EXPECT_THAT(Jsonpath("pod/foreign", ".status.message"),
              HasSubstr("\"nginx:1.27\" is not a featureforge image"));
  ASSERT_EQ(WaitPhase("forbidden", "Failed"), 0) << Logs();
  EXPECT_EQ(Jsonpath("pod/forbidden", ".status.reason"), "ContainerCannotRun");
  EXPECT_THAT(Jsonpath("pod/forbidden", ".status.message"),
              HasSubstr("command \"rm\" is not allowed"));
}

TEST_F(KubeletTest, ReadinessProbeOnOwnLoopbackIpAndDeleteKillsProcess) {
  auto r = server_->Apply(R"YAML(
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  terminationGracePeriodSeconds: 5
  containers:
  - name: http
    image: featureforge:test
    command: [python3, -m, http.server, "8080", --bind, "$(POD_IP)"]
    env: [{name: POD_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}]
    ports: [{name: http, containerPort: 8080}]
    readinessProbe: {httpGet: {path: /, port: http}, periodSeconds: 1}
)YAML");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Kubectl({"wait", "--for=condition=Ready", "pod/web", "--timeout=120s"});
  ASSERT_EQ(r.exit_code, 0) << r.err << Logs();
  EXPECT_THAT(Kubectl({"get", "pod", "web"}).out, HasSubstr("1/1"));
  std::string container_id = Jsonpath("pod/web", ".status.containerStatuses[0].containerID");
  ASSERT_THAT(container_id, StartsWith("process://"));
  pid_t pid = std::stoi(container_id.substr(10));
  EXPECT_EQ(kill(pid, 0), 0);
  r = Kubectl({"delete", "pod", "web", "--timeout=120s"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(Kubectl({"get", "pod", "web"}).exit_code, 0);
  // The kubelet reaped it before deleting the pod: the pid is gone (or reused by an unrelated
  // process of another group, which kill(pid, 0) cannot tell; check the group instead).
  EXPECT_NE(kill(-pid, 0), 0);
}

TEST_F(KubeletTest, DeploymentCreatesRollsAndScalesPods) {
  const std::string deployment = R"YAML(
apiVersion: apps/v1
kind: Deployment
metadata: {name: app}
spec:
  replicas: 2
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app}}
    spec:
      terminationGracePeriodSeconds: 2
      containers: [{name: c, image: featureforge:test, command: [sleep, "1000"], env: [{name: V, value: "1"}]}]
)YAML";
  ASSERT_EQ(server_->Apply(deployment).exit_code, 0);
  auto r = Kubectl({"rollout", "status", "deployment/app", "--timeout=120s"});
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  auto pods = [&] {
    return Kubectl({"get", "pods", "-l", "app=app", "-o", "jsonpath={.items[*].metadata.name}"})
        .out;
  };
  std::string first = pods();
  EXPECT_EQ(std::count(first.begin(), first.end(), ' '), 1) << first;
  EXPECT_EQ(Jsonpath("deployment/app", ".status.availableReplicas"), "2");
  EXPECT_THAT(Kubectl({"get", "deployment", "app"}).out, HasSubstr("2/2"));
  std::string rolled = deployment;
  rolled.replace(rolled.find("value: \"1\""), 10, "value: \"2\"");
  ASSERT_EQ(server_->Apply(rolled).exit_code, 0);
  r = Kubectl({"rollout", "status", "deployment/app", "--timeout=120s"});
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  std::string second;
  for (int i = 0; i < 600; ++i) {  // old pods terminate gracefully after the new ones are ready
    second = pods();
    if (std::count(second.begin(), second.end(), ' ') == 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(std::count(second.begin(), second.end(), ' '), 1) << second;
  EXPECT_EQ(second.find(first.substr(0, first.find(' '))), std::string::npos)
      << first << " vs " << second;
  ASSERT_EQ(Kubectl({"scale", "deployment", "app", "--replicas=1"}).exit_code, 0);
  r = Kubectl({"rollout", "status", "deployment/app", "--timeout=120s"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(Kubectl({"delete", "deployment", "app"}).exit_code, 0);
  std::string left;
  for (int i = 0; i < 600; ++i) {
    left = pods();
    if (left.empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(left, "") << "pods are garbage collected with their Deployment";
}

}  // namespace
}  // namespace ffharness::testing

namespace ffharness::testing {
namespace {

TEST(FfclusterTest, StartsEverythingWritesKubeconfigAndStopsCleanly) {
  const char* source = std::getenv("FEATUREFORGE_SOURCE_DIR");
  if (source == nullptr) source = FF_HARNESS_SOURCE_DIR;
  std::string script = std::string(source) + "/tests/harness/ffcluster";
  char pattern[] = "/tmp/ffclusterXXXXXX";
  std::string dir = mkdtemp(pattern);
  std::string build = BinaryPath("");
  auto r = RunCommand({script, "start", "--dir", dir, "--build-dir", build});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("export KUBECONFIG=" + dir + "/kubeconfig"));
  std::vector<std::string> kubectl = {"kubectl", "--kubeconfig", dir + "/kubeconfig", "--cache-dir",
                                      dir + "/cache"};
  auto with = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = kubectl;
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  };
  r = RunCommand(with({"wait", "--for=condition=Ready", "node/ff-node", "--timeout=60s"}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = RunCommand(with({"apply", "-f", "-"}),
                 "apiVersion: v1\nkind: Pod\nmetadata: {name: s}\nspec:\n  containers: [{name: c, "
                 "image: featureforge:t, command: [sleep, '1000']}]\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = RunCommand(with({"wait", "--for=condition=Ready", "pod/s", "--timeout=60s"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  pid_t pid = std::stoi(RunCommand(with({"get", "pod", "s", "-o",
                                         "jsonpath={.status.containerStatuses[0].containerID}"}))
                            .out.substr(10));
  // Services get loopback cluster IPs that ff-kube-proxy serves.
  r = RunCommand(with({"apply", "-f", "-"}),
                 "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  selector: {a: b}\n"
                 "  ports: [{port: 80}]\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string ip = RunCommand(with({"get", "svc", "s", "-o", "jsonpath={.spec.clusterIP}"})).out;
  EXPECT_THAT(ip, StartsWith("127."));
  EXPECT_EQ(RunCommand({script, "status", "--dir", dir}).exit_code, 0);
  std::string status = RunCommand({script, "status", "--dir", dir}).out;
  EXPECT_THAT(status, HasSubstr("kube-proxy running"));
  r = RunCommand({script, "stop", "--dir", dir});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(kill(-pid, 0), 0) << "stopping the kubelet kills its pods' processes";
  EXPECT_NE(RunCommand({script, "status", "--dir", dir}).exit_code, 0);
  EXPECT_TRUE(std::ifstream(dir + "/apiserver/state.json").good())
      << "the API server saved its state";
  RunCommand({"rm", "-rf", dir});
}

}  // namespace
}  // namespace ffharness::testing
