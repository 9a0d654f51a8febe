package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// chartMetadata is Chart.yaml; templates see it as .Chart with Helm's capitalised names.
type chartMetadata struct {
	APIVersion   string            `yaml:"apiVersion"`
	Name         string            `yaml:"name"`
	Version      string            `yaml:"version"`
	AppVersion   string            `yaml:"appVersion"`
	KubeVersion  string            `yaml:"kubeVersion"`
	Description  string            `yaml:"description"`
	Type         string            `yaml:"type"`
	Home         string            `yaml:"home"`
	Keywords     []string          `yaml:"keywords"`
	Annotations  map[string]string `yaml:"annotations"`
	Dependencies []interface{}     `yaml:"dependencies"`
}

type chartFile struct {
	Path string // relative to the chart root, e.g. templates/deployment.yaml
	Data string
}

type loadedChart struct {
	Metadata  chartMetadata
	Values    map[string]interface{}
	Schema    map[string]interface{}
	Templates []chartFile // templates/ (sorted by path)
	Crds      []chartFile // crds/*.yaml|yml|json (sorted)
}

func readYAMLMap(path string) (map[string]interface{}, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := map[string]interface{}{}
	if err := yaml.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if out == nil {
		out = map[string]interface{}{}
	}
	return normalize(out).(map[string]interface{}), nil
}

func loadChart(dir string) (*loadedChart, error) {
	c := &loadedChart{}
	data, err := os.ReadFile(filepath.Join(dir, "Chart.yaml"))
	if err != nil {
		return nil, fmt.Errorf("not a chart: %v", err)
	}
	if err := yaml.Unmarshal(data, &c.Metadata); err != nil {
		return nil, fmt.Errorf("%s/Chart.yaml: %v", dir, err)
	}
	if c.Metadata.APIVersion != "v2" || c.Metadata.Name == "" || c.Metadata.Version == "" {
		return nil, fmt.Errorf("%s/Chart.yaml: apiVersion v2, name and version are required", dir)
	}
	// Subcharts are a real Helm feature this renderer does not implement: refuse, never ignore.
	if len(c.Metadata.Dependencies) > 0 {
		return nil, fmt.Errorf("not supported: chart dependencies (%s/Chart.yaml)", dir)
	}
	if st, err := os.Stat(filepath.Join(dir, "charts")); err == nil && st.IsDir() {
		return nil, fmt.Errorf("not supported: subcharts in %s/charts", dir)
	}
	c.Values = map[string]interface{}{}
	if _, err := os.Stat(filepath.Join(dir, "values.yaml")); err == nil {
		if c.Values, err = readYAMLMap(filepath.Join(dir, "values.yaml")); err != nil {
			return nil, err
		}
	}
	if data, err := os.ReadFile(filepath.Join(dir, "values.schema.json")); err == nil {
		if err := json.Unmarshal(data, &c.Schema); err != nil {
			return nil, fmt.Errorf("%s/values.schema.json: %v", dir, err)
		}
	}
	if c.Templates, err = readTree(dir, "templates", nil); err != nil {
		return nil, err
	}
	if c.Crds, err = readTree(dir, "crds", []string{".yaml", ".yml", ".json"}); err != nil {
		return nil, err
	}
	return c, nil
}

// readTree reads every file under dir/sub (recursively), sorted by path; exts filters by suffix.
func readTree(dir, sub string, exts []string) ([]chartFile, error) {
	var files []chartFile
	root := filepath.Join(dir, sub)
	if _, err := os.Stat(root); os.IsNotExist(err) {
		return nil, nil
	}
	err := filepath.Walk(root, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		if exts != nil && !hasAnySuffix(path, exts) {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		files = append(files, chartFile{Path: filepath.ToSlash(rel), Data: string(data)})
		return nil
	})
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	return files, err
}

func hasAnySuffix(s string, suffixes []string) bool {
	for _, suffix := range suffixes {
		if strings.HasSuffix(s, suffix) {
			return true
		}
	}
	return false
}

// normalize turns yaml.v3 output into JSON-like values (map[string]interface{}, []interface{},
// string, bool, int64, float64, nil) so templates, merging and the schema see one shape.
func normalize(v interface{}) interface{} {
	switch t := v.(type) {
	case map[string]interface{}:
		for k, e := range t {
			t[k] = normalize(e)
		}
		return t
	case map[interface{}]interface{}:
		m := map[string]interface{}{}
		for k, e := range t {
			m[fmt.Sprint(k)] = normalize(e)
		}
		return m
	case []interface{}:
		for i, e := range t {
			t[i] = normalize(e)
		}
		return t
	case int:
		return int64(t)
	default:
		return v
	}
}
