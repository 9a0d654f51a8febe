// ff-helm-render renders a Helm chart the way `helm template` does, for tests on machines
// without Helm: Go text/template + sprig + Helm's own functions (include, tpl, required,
// toYaml, fromYaml, ...), values from values.yaml, -f files and --set, validated against
// values.schema.json. Output: multi-document YAML with "# Source: <chart>/<path>" headers.
// Exit codes: 0 rendered, 1 render/validation error (the message names the template or value),
// 2 usage error.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
)

// repeated collects a flag given several times (-f a -f b, --set x --set y).
type repeated []string

func (r *repeated) String() string     { return strings.Join(*r, ",") }
func (r *repeated) Set(v string) error { *r = append(*r, v); return nil }

type options struct {
	chartDir    string
	releaseName string
	namespace   string
	valueFiles  repeated
	sets        repeated
	setStrings  repeated
	kubeVersion string
	apiVersions repeated
	includeCrds bool
	showOnly    repeated
	notes       bool
	isUpgrade   bool
	skipSchema  bool
	printValues bool
}

func parseOptions(args []string) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("ff-helm-render", flag.ContinueOnError)
	fs.StringVar(&o.releaseName, "name", "release-name", "release name (.Release.Name)")
	fs.StringVar(&o.namespace, "namespace", "default", "release namespace (.Release.Namespace)")
	fs.Var(&o.valueFiles, "f", "values file merged over values.yaml (repeatable, later wins)")
	fs.Var(&o.valueFiles, "values", "same as -f")
	fs.Var(&o.sets, "set", "key=value[,key=value] override, typed like Helm (repeatable)")
	fs.Var(&o.setStrings, "set-string", "key=value override kept as a string (repeatable)")
	fs.StringVar(&o.kubeVersion, "kube-version", "v1.30.0", ".Capabilities.KubeVersion")
	fs.Var(&o.apiVersions, "api-versions", "extra group/version or group/version/Kind for .Capabilities.APIVersions (repeatable)")
	fs.BoolVar(&o.includeCrds, "include-crds", false, "print the chart's crds/ files first")
	fs.Var(&o.showOnly, "show-only", "only this template, e.g. templates/deployment.yaml (repeatable)")
	fs.BoolVar(&o.notes, "notes", false, "print the rendered NOTES.txt after the manifests")
	fs.BoolVar(&o.isUpgrade, "is-upgrade", false, ".Release.IsUpgrade=true, .Release.IsInstall=false")
	fs.BoolVar(&o.skipSchema, "skip-schema-validation", false, "do not validate values against values.schema.json")
	fs.BoolVar(&o.printValues, "print-values", false, "print the merged values as YAML instead of rendering")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: ff-helm-render [flags] CHART_DIR")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return nil, fmt.Errorf("expected exactly one CHART_DIR, got %d arguments", fs.NArg())
	}
	o.chartDir = fs.Arg(0)
	return o, nil
}

func main() {
	o, err := parseOptions(os.Args[1:])
	if err != nil {
		if err == flag.ErrHelp {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(2)
	}
	out, err := run(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
	os.Stdout.WriteString(out)
}

// run loads the chart, merges and validates values and renders; it returns the whole output
// so nothing is printed when any template fails.
func run(o *options) (string, error) {
	chart, err := loadChart(o.chartDir)
	if err != nil {
		return "", err
	}
	values, err := mergeValues(chart.Values, o.valueFiles, o.sets, o.setStrings)
	if err != nil {
		return "", err
	}
	if !o.skipSchema && chart.Schema != nil {
		if problems := validateSchema(chart.Schema, values); len(problems) > 0 {
			return "", fmt.Errorf("values don't meet the specifications of the schema(s) in the following chart(s):\n%s:\n- %s",
				chart.Metadata.Name, strings.Join(problems, "\n- "))
		}
	}
	if o.printValues {
		return toYAML(values) + "\n", nil
	}
	caps, err := newCapabilities(o.kubeVersion, o.apiVersions)
	if err != nil {
		return "", err
	}
	if err := checkKubeVersion(chart.Metadata.KubeVersion, caps); err != nil {
		return "", err
	}
	release := releaseInfo{Name: o.releaseName, Namespace: o.namespace, Service: "Helm",
		IsInstall: !o.isUpgrade, IsUpgrade: o.isUpgrade, Revision: 1}
	return render(chart, values, release, caps, o)
}
