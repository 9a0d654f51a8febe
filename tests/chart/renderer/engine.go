package main

import (
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"
	"text/template"

	"gopkg.in/yaml.v3"
)

type releaseInfo struct {
	Name      string
	Namespace string
	Service   string
	IsInstall bool
	IsUpgrade bool
	Revision  int
}

// installOrder is Helm's kind order for install (releaseutil.InstallOrder); other kinds follow.
var installOrder = []string{"Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange",
	"PodSecurityPolicy", "PodDisruptionBudget", "ServiceAccount", "Secret", "SecretList",
	"ConfigMap", "StorageClass", "PersistentVolume", "PersistentVolumeClaim",
	"CustomResourceDefinition", "ClusterRole", "ClusterRoleList", "ClusterRoleBinding",
	"ClusterRoleBindingList", "Role", "RoleList", "RoleBinding", "RoleBindingList", "Service",
	"DaemonSet", "Pod", "ReplicationController", "ReplicaSet", "Deployment",
	"HorizontalPodAutoscaler", "StatefulSet", "Job", "CronJob", "IngressClass", "Ingress",
	"APIService"}

// renderer holds the parsed template set; include and tpl close over it.
type renderer struct {
	root         *template.Template
	includeDepth map[string]int
}

const maxIncludeDepth = 1000 // Helm's recursion limit

func newRenderer(chart *loadedChart) (*renderer, error) {
	r := &renderer{includeDepth: map[string]int{}}
	r.root = template.New("gotpl").Option("missingkey=zero").Funcs(baseFuncMap())
	r.root.Funcs(template.FuncMap{"include": r.include, "tpl": r.tpl})
	for _, f := range chart.Templates {
		name := path.Join(chart.Metadata.Name, f.Path)
		if _, err := r.root.New(name).Parse(f.Data); err != nil {
			return nil, cleanError(err)
		}
	}
	return r, nil
}

func (r *renderer) include(name string, data interface{}) (string, error) {
	if r.includeDepth[name] >= maxIncludeDepth {
		return "", fmt.Errorf("rendering template has a nested reference name: %s", name)
	}
	r.includeDepth[name]++
	defer func() { r.includeDepth[name]-- }()
	var buf strings.Builder
	if err := r.root.ExecuteTemplate(&buf, name, data); err != nil {
		return "", err
	}
	return strings.ReplaceAll(buf.String(), "<no value>", ""), nil
}

// tpl renders a string as a template with the chart's named templates available.
func (r *renderer) tpl(text string, data interface{}) (string, error) {
	clone, err := r.root.Clone()
	if err != nil {
		return "", err
	}
	name := "tpl"
	if m, ok := data.(map[string]interface{}); ok {
		if t, ok := m["Template"].(map[string]interface{}); ok {
			name = fmt.Sprint(t["Name"]) + "/tpl"
		}
	}
	t, err := clone.New(name).Parse(text)
	if err != nil {
		return "", fmt.Errorf("cannot parse template %q: %v", text, err)
	}
	var buf strings.Builder
	if err := t.Execute(&buf, data); err != nil {
		return "", fmt.Errorf("error during tpl function execution for %q: %v", text, err)
	}
	return strings.ReplaceAll(buf.String(), "<no value>", ""), nil
}

var templateLocation = regexp.MustCompile(`^template: ([^:\s]+(?::\d+)*): `)
var userErrorPattern = regexp.MustCompile(`(?s)error calling (?:required|fail): (.*)$`)

// cleanError turns Go's template errors into Helm's form: "execution error at
// (template:line:col): message" for required/fail (the message of the innermost call, the
// location of the outermost template), "template error at (...)" for the rest.
func cleanError(err error) error {
	msg := err.Error()
	location := templateLocation.FindStringSubmatch(msg)
	if location == nil {
		return err
	}
	if m := userErrorPattern.FindStringSubmatch(msg); m != nil {
		return fmt.Errorf("execution error at (%s): %s", location[1], m[1])
	}
	return fmt.Errorf("template error at (%s): %s", location[1], msg[len(location[0]):])
}

type manifest struct {
	source string
	kind   string
	body   string
}

var documentSeparator = regexp.MustCompile(`(?m)^---[ \t]*(#.*)?$`)

// splitDocuments splits rendered output into YAML documents, dropping empty and comment-only
// ones, and checks each is a parseable Kubernetes object.
func splitDocuments(source, text string) ([]manifest, error) {
	var out []manifest
	for i, doc := range documentSeparator.Split(text, -1) {
		var obj map[string]interface{}
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			return nil, fmt.Errorf("YAML parse error on %s (document %d): %v", source, i+1, err)
		}
		if len(obj) == 0 {
			continue
		}
		kind, _ := obj["kind"].(string)
		if kind == "" || obj["apiVersion"] == nil {
			return nil, fmt.Errorf("%s (document %d): an object needs apiVersion and kind", source, i+1)
		}
		out = append(out, manifest{source: source, kind: kind, body: strings.Trim(doc, "\n")})
	}
	return out, nil
}

func kindRank(kind string) int {
	for i, k := range installOrder {
		if k == kind {
			return i
		}
	}
	return len(installOrder)
}

func render(chart *loadedChart, values map[string]interface{}, release releaseInfo,
	caps capabilities, o *options) (string, error) {
	r, err := newRenderer(chart)
	if err != nil {
		return "", err
	}
	wanted := map[string]bool{}
	for _, s := range o.showOnly {
		wanted[strings.TrimPrefix(s, chart.Metadata.Name+"/")] = true
	}
	var manifests []manifest
	var notes string
	matched := map[string]bool{}
	for _, f := range chart.Templates {
		base := path.Base(f.Path)
		if strings.HasPrefix(base, "_") {
			continue // partials only define named templates
		}
		name := path.Join(chart.Metadata.Name, f.Path)
		data := map[string]interface{}{
			"Values":       values,
			"Release":      release,
			"Chart":        chart.Metadata,
			"Capabilities": caps,
			"Template": map[string]interface{}{
				"Name": name, "BasePath": path.Join(chart.Metadata.Name, "templates")},
		}
		var buf strings.Builder
		if err := r.root.ExecuteTemplate(&buf, name, data); err != nil {
			return "", cleanError(err)
		}
		text := strings.ReplaceAll(buf.String(), "<no value>", "")
		if base == "NOTES.txt" {
			notes = text
			continue
		}
		if len(wanted) > 0 && !wanted[f.Path] {
			continue
		}
		matched[f.Path] = true
		docs, err := splitDocuments(name, text)
		if err != nil {
			return "", err
		}
		manifests = append(manifests, docs...)
	}
	if o.notes {
		return notes, nil
	}
	for s := range wanted {
		if !matched[s] {
			return "", fmt.Errorf("could not find template %s in chart", s)
		}
	}
	sort.SliceStable(manifests, func(i, j int) bool {
		ri, rj := kindRank(manifests[i].kind), kindRank(manifests[j].kind)
		if ri != rj {
			return ri < rj
		}
		if ri == len(installOrder) {
			return manifests[i].kind < manifests[j].kind
		}
		return false
	})
	var out strings.Builder
	if o.includeCrds && len(wanted) == 0 {
		for _, crd := range chart.Crds {
			out.WriteString("---\n# Source: " + path.Join(chart.Metadata.Name, crd.Path) + "\n")
			out.WriteString(strings.TrimRight(crd.Data, "\n") + "\n")
		}
	}
	for _, m := range manifests {
		out.WriteString("---\n# Source: " + m.source + "\n" + m.body + "\n")
	}
	return out.String(), nil
}
