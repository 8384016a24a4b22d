package main

import (
	"bufio"
	"bytes"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// configVars is every environment variable Config reads.
func configVars(t *testing.T) map[string]bool {
	t.Helper()
	vars := map[string]bool{}
	rt := reflect.TypeFor[Config]()
	for i := range rt.NumField() {
		name := rt.Field(i).Tag.Get("envconfig")
		if name == "" {
			t.Fatalf("Config.%s has no envconfig tag", rt.Field(i).Name)
		}
		vars[name] = true
	}
	return vars
}

// requiredInProduction are the variables a durable deployment must set.
var requiredInProduction = []string{"SLACK_APP_TOKEN", "SLACK_BOT_TOKEN", "REDIS_URL", "FLAGBOT_ENCRYPTION_KEY"}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(false)
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// envFileVars reads KEY=VALUE lines, skipping comments and blanks.
func envFileVars(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var names []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, _, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s: %q is not KEY=VALUE", path, line)
		}
		names = append(names, name)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return names
}

// checkVars fails for every name Config does not read, and for every
// production variable the deployment leaves out.
func checkVars(t *testing.T, where string, names []string) {
	t.Helper()
	known := configVars(t)
	for _, n := range names {
		if !known[n] {
			t.Errorf("%s sets %s, which Flagbot does not read (Config has no such envconfig tag)", where, n)
		}
	}
	for _, n := range requiredInProduction {
		if !slices.Contains(names, n) {
			t.Errorf("%s does not set %s", where, n)
		}
	}
}

type composeFile struct {
	Services map[string]struct {
		Image       string    `yaml:"image"`
		EnvFile     yaml.Node `yaml:"env_file"`
		Environment yaml.Node `yaml:"environment"`
		Healthcheck *struct {
			Test []string `yaml:"test"`
		} `yaml:"healthcheck"`
	} `yaml:"services"`
}

// nodeStrings reads a compose field that is a string or a list of strings.
func nodeStrings(t *testing.T, n yaml.Node) []string {
	t.Helper()
	switch n.Kind {
	case 0:
		return nil
	case yaml.ScalarNode:
		return []string{n.Value}
	}
	var out []string
	if err := n.Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// composeEnvironment reads environment as a map or a KEY=VALUE list.
func composeEnvironment(t *testing.T, n yaml.Node) []string {
	t.Helper()
	var names []string
	switch n.Kind {
	case 0:
	case yaml.MappingNode:
		for i := 0; i < len(n.Content); i += 2 {
			names = append(names, n.Content[i].Value)
		}
	default:
		for _, kv := range nodeStrings(t, n) {
			name, _, _ := strings.Cut(kv, "=")
			names = append(names, name)
		}
	}
	return names
}

func TestDockerComposeMatchesConfig(t *testing.T) {
	const dir = "../../deploy"
	var cf composeFile
	readYAML(t, filepath.Join(dir, "docker-compose.yml"), &cf)
	var bots []string
	for name, svc := range cf.Services {
		files := nodeStrings(t, svc.EnvFile)
		if len(files) == 0 && !strings.HasPrefix(name, "flagbot") {
			continue // redis
		}
		bots = append(bots, name)
		names := composeEnvironment(t, svc.Environment)
		for _, f := range files {
			// The example is what people copy to the env file.
			names = append(names, envFileVars(t, filepath.Join(dir, f+".example"))...)
		}
		checkVars(t, "docker-compose service "+name, names)
		if svc.Healthcheck == nil || !slices.Equal(svc.Healthcheck.Test, []string{"CMD", "/flagbot", "healthcheck"}) {
			t.Errorf("service %s: health check %+v, want the binary's own `healthcheck`", name, svc.Healthcheck)
		}
	}
	sort.Strings(bots)
	if len(bots) != 2 {
		t.Errorf("flagbot services %v, want two replicas", bots)
	}
}

type k8sObject struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name   string            `yaml:"name"`
		Labels map[string]string `yaml:"labels"`
	} `yaml:"metadata"`
	StringData map[string]string `yaml:"stringData"`
	Spec       struct {
		Replicas     int `yaml:"replicas"`
		MinAvailable int `yaml:"minAvailable"`
		Selector     struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"selector"`
		Template struct {
			Metadata struct {
				Labels      map[string]string `yaml:"labels"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"metadata"`
			Spec struct {
				TerminationGracePeriodSeconds int `yaml:"terminationGracePeriodSeconds"`
				Containers                    []struct {
					Env []struct {
						Name  string `yaml:"name"`
						Value string `yaml:"value"`
					} `yaml:"env"`
					EnvFrom []struct {
						SecretRef *struct {
							Name string `yaml:"name"`
						} `yaml:"secretRef"`
					} `yaml:"envFrom"`
					Ports []struct {
						Name          string `yaml:"name"`
						ContainerPort int    `yaml:"containerPort"`
					} `yaml:"ports"`
					LivenessProbe  *k8sProbe `yaml:"livenessProbe"`
					ReadinessProbe *k8sProbe `yaml:"readinessProbe"`
				} `yaml:"containers"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

type k8sProbe struct {
	HTTPGet struct {
		Path string `yaml:"path"`
		Port string `yaml:"port"`
	} `yaml:"httpGet"`
}

func TestKubernetesMatchesConfig(t *testing.T) {
	paths, err := filepath.Glob("../../deploy/kubernetes/*.yaml")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no manifests: %v", err)
	}
	byKind := map[string]k8sObject{}
	for _, p := range paths {
		var o k8sObject
		readYAML(t, p, &o)
		byKind[o.Kind] = o
	}
	dep, sec, pdb := byKind["Deployment"], byKind["Secret"], byKind["PodDisruptionBudget"]
	if dep.Spec.Replicas != 2 || len(dep.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("Deployment: %d replicas, %d containers; want 2 and 1", dep.Spec.Replicas, len(dep.Spec.Template.Spec.Containers))
	}
	c := dep.Spec.Template.Spec.Containers[0]
	var names []string
	httpAddr := defaultHTTPAddr
	for _, e := range c.Env {
		names = append(names, e.Name)
		if e.Name == "FLAGBOT_HTTP_ADDR" {
			httpAddr = e.Value
		}
	}
	usesSecret := false
	for _, ef := range c.EnvFrom {
		if ef.SecretRef != nil && ef.SecretRef.Name == sec.Metadata.Name {
			usesSecret = true
		}
	}
	if !usesSecret {
		t.Errorf("the Deployment does not read the Secret %q", sec.Metadata.Name)
	}
	for name := range sec.StringData {
		names = append(names, name)
	}
	checkVars(t, "the Kubernetes Deployment and Secret", names)

	_, port, err := net.SplitHostPort(httpAddr)
	if err != nil {
		t.Fatalf("FLAGBOT_HTTP_ADDR %q: %v", httpAddr, err)
	}
	ops := ""
	for _, p := range c.Ports {
		if p.Name == "ops" && port == strconv.Itoa(p.ContainerPort) {
			ops = p.Name
		}
	}
	if ops == "" {
		t.Errorf("no container port named ops on %s (FLAGBOT_HTTP_ADDR)", port)
	}
	for _, pr := range []struct {
		name  string
		probe *k8sProbe
		path  string
	}{{"liveness", c.LivenessProbe, "/healthz"}, {"readiness", c.ReadinessProbe, "/readyz"}} {
		if pr.probe == nil || pr.probe.HTTPGet.Path != pr.path || pr.probe.HTTPGet.Port != "ops" {
			t.Errorf("%s probe %+v, want GET %s on the ops port", pr.name, pr.probe, pr.path)
		}
	}
	ann := dep.Spec.Template.Metadata.Annotations
	if ann["prometheus.io/scrape"] != "true" || ann["prometheus.io/port"] != port || ann["prometheus.io/path"] != "/metrics" {
		t.Errorf("Prometheus annotations %v, want scrape on port %s path /metrics", ann, port)
	}
	if grace := dep.Spec.Template.Spec.TerminationGracePeriodSeconds; grace <= 20 {
		t.Errorf("terminationGracePeriodSeconds %d must exceed FLAGBOT_SHUTDOWN_TIMEOUT's default 20s", grace)
	}
	if !reflect.DeepEqual(pdb.Spec.Selector.MatchLabels, dep.Spec.Selector.MatchLabels) || pdb.Spec.MinAvailable < 1 {
		t.Errorf("PodDisruptionBudget selects %v (minAvailable %d), want the Deployment's %v with at least 1",
			pdb.Spec.Selector.MatchLabels, pdb.Spec.MinAvailable, dep.Spec.Selector.MatchLabels)
	}
	for k, v := range dep.Spec.Selector.MatchLabels {
		if dep.Spec.Template.Metadata.Labels[k] != v {
			t.Errorf("the pod template lacks the selector label %s=%s", k, v)
		}
	}
}

// TestReadmeConfigurationTable: the README's Configuration table lists
// exactly the variables Config reads.
func TestReadmeConfigurationTable(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(b), "\n## Configuration\n")
	if !ok {
		t.Fatal("README has no Configuration section")
	}
	table, _, _ = strings.Cut(table, "\n## ")
	listed := map[string]bool{}
	for line := range strings.SplitSeq(table, "\n") {
		if name, ok := strings.CutPrefix(line, "| `"); ok {
			name, _, _ = strings.Cut(name, "`")
			listed[name] = true
		}
	}
	known := configVars(t)
	for name := range known {
		if !listed[name] {
			t.Errorf("README's Configuration table does not list %s", name)
		}
	}
	for name := range listed {
		if !known[name] {
			t.Errorf("README's Configuration table lists %s, which Flagbot does not read", name)
		}
	}
}
