package main

import (
	"fmt"
	"strings"

	"github.com/Masterminds/semver"
)

type kubeVersion struct {
	Version    string // v1.30.0
	Major      string
	Minor      string
	GitVersion string
}

func (k kubeVersion) String() string { return k.Version }

// versionSet is .Capabilities.APIVersions: "group/version" and "group/version/Kind" entries.
type versionSet []string

func (v versionSet) Has(apiVersion string) bool {
	for _, x := range v {
		if x == apiVersion {
			return true
		}
	}
	return false
}

type capabilities struct {
	KubeVersion kubeVersion
	APIVersions versionSet
	HelmVersion map[string]string
}

// Built-in group/versions and kinds of a v1.25+ cluster (what Helm's default set holds for the
// kinds charts ask about).
var builtinAPIs = map[string][]string{
	"v1": {"ConfigMap", "Endpoints", "Event", "LimitRange", "Namespace", "Node",
		"PersistentVolume", "PersistentVolumeClaim", "Pod", "ResourceQuota", "Secret", "Service",
		"ServiceAccount"},
	"apps/v1":                         {"DaemonSet", "Deployment", "ReplicaSet", "StatefulSet"},
	"batch/v1":                        {"CronJob", "Job"},
	"autoscaling/v2":                  {"HorizontalPodAutoscaler"},
	"policy/v1":                       {"PodDisruptionBudget"},
	"networking.k8s.io/v1":            {"Ingress", "IngressClass", "NetworkPolicy"},
	"rbac.authorization.k8s.io/v1":    {"ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"},
	"coordination.k8s.io/v1":          {"Lease"},
	"apiextensions.k8s.io/v1":         {"CustomResourceDefinition"},
	"events.k8s.io/v1":                {"Event"},
	"storage.k8s.io/v1":               {"StorageClass"},
	"scheduling.k8s.io/v1":            {"PriorityClass"},
	"admissionregistration.k8s.io/v1": {"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"},
}

func newCapabilities(version string, extra []string) (capabilities, error) {
	v, err := semver.NewVersion(version)
	if err != nil {
		return capabilities{}, fmt.Errorf("--kube-version %q: %v", version, err)
	}
	c := capabilities{
		KubeVersion: kubeVersion{Version: "v" + v.String(), Major: fmt.Sprint(v.Major()),
			Minor: fmt.Sprint(v.Minor()), GitVersion: "v" + v.String()},
		HelmVersion: map[string]string{"Version": "v3-compatible (ff-helm-render)"},
	}
	for gv, kinds := range builtinAPIs {
		c.APIVersions = append(c.APIVersions, gv)
		for _, k := range kinds {
			c.APIVersions = append(c.APIVersions, gv+"/"+k)
		}
	}
	for _, e := range extra {
		for _, item := range strings.Split(e, ",") {
			c.APIVersions = append(c.APIVersions, item)
			// "group/version/Kind" also makes "group/version" available.
			if parts := strings.Split(item, "/"); len(parts) == 3 {
				c.APIVersions = append(c.APIVersions, parts[0]+"/"+parts[1])
			}
		}
	}
	return c, nil
}

// checkKubeVersion enforces Chart.yaml's kubeVersion constraint like helm template does.
func checkKubeVersion(constraint string, caps capabilities) error {
	if constraint == "" {
		return nil
	}
	c, err := semver.NewConstraint(constraint)
	if err != nil {
		return fmt.Errorf("Chart.yaml kubeVersion %q: %v", constraint, err)
	}
	v, _ := semver.NewVersion(caps.KubeVersion.Version)
	if !c.Check(v) {
		return fmt.Errorf("chart requires kubeVersion: %s which is incompatible with Kubernetes %s",
			constraint, caps.KubeVersion.Version)
	}
	return nil
}
