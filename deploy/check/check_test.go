package check

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// imageUser is the Containerfile's USER.
const imageUser = 65532

type manifests struct {
	deployment *appsv1.Deployment
	service    *corev1.Service
	pdb        *policyv1.PodDisruptionBudget
	configMaps map[string]*corev1.ConfigMap
	secrets    map[string]*corev1.Secret
	files      []string
}

// load decodes every document of deploy/k8s/*.yaml (but the kustomization)
// strictly into its API type.
func load(t *testing.T) manifests {
	t.Helper()
	m := manifests{configMaps: map[string]*corev1.ConfigMap{}, secrets: map[string]*corev1.Secret{}}
	paths, _ := filepath.Glob("../k8s/*.yaml")
	for _, p := range paths {
		if filepath.Base(p) == "kustomization.yaml" {
			continue
		}
		m.files = append(m.files, filepath.Base(p))
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(raw), -1) {
			if strings.TrimSpace(doc) == "" {
				continue
			}
			var tm metav1.TypeMeta
			if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
				t.Fatalf("%s document %d: %v", p, i, err)
			}
			var obj any
			switch tm.APIVersion + " " + tm.Kind {
			case "apps/v1 Deployment":
				m.deployment = &appsv1.Deployment{}
				obj = m.deployment
			case "v1 Service":
				m.service = &corev1.Service{}
				obj = m.service
			case "policy/v1 PodDisruptionBudget":
				m.pdb = &policyv1.PodDisruptionBudget{}
				obj = m.pdb
			case "v1 ConfigMap":
				obj = &corev1.ConfigMap{}
			case "v1 Secret":
				obj = &corev1.Secret{}
			default:
				t.Fatalf("%s document %d: %s %s is not a kind these checks know", p, i, tm.APIVersion, tm.Kind)
			}
			if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
				t.Fatalf("%s document %d (%s): %v", p, i, tm.Kind, err)
			}
			switch o := obj.(type) {
			case *corev1.ConfigMap:
				m.configMaps[o.Name] = o
			case *corev1.Secret:
				m.secrets[o.Name] = o
			}
		}
	}
	if m.deployment == nil || m.service == nil || m.pdb == nil || len(m.configMaps) == 0 || len(m.secrets) == 0 {
		t.Fatalf("deploy/k8s needs a Deployment, a Service, a PodDisruptionBudget, a ConfigMap and a Secret; found %v", m.files)
	}
	return m
}

func TestKubernetesManifestsDecodeStrictly(t *testing.T) {
	// The decoder does refuse what the API would not take.
	bad := "apiVersion: apps/v1\nkind: Deployment\nspec:\n  replicas: 3\n  replica: 3\n"
	if err := yaml.UnmarshalStrict([]byte(bad), &appsv1.Deployment{}); err == nil || !strings.Contains(err.Error(), `unknown field "replica"`) {
		t.Fatalf("a misspelt field decoded: %v", err)
	}
	load(t)
}

func TestKubernetesDeployment(t *testing.T) {
	m := load(t)
	d := m.deployment
	labels := d.Spec.Template.Labels
	if d.Spec.Selector == nil || !matches(d.Spec.Selector.MatchLabels, labels) {
		t.Errorf("the Deployment's selector %v does not match its pods' labels %v", d.Spec.Selector, labels)
	}
	if d.Spec.Replicas == nil || *d.Spec.Replicas < 3 {
		t.Errorf("replicas %v, want at least 3", d.Spec.Replicas)
	}
	if ru := d.Spec.Strategy.RollingUpdate; ru == nil || ru.MaxUnavailable == nil || ru.MaxUnavailable.IntValue() != 0 {
		t.Errorf("a rolling update may take a hub away before its successor is ready: %+v", ru)
	}
	pod := d.Spec.Template.Spec
	if sc := pod.SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser != imageUser {
		t.Errorf("the pod must run as the image's non-root user %d: %+v", imageUser, pod.SecurityContext)
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers, want the hub alone", len(pod.Containers))
	}
	c := pod.Containers[0]
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	probe := func(name string, p *corev1.Probe, path string) {
		switch {
		case p == nil || p.HTTPGet == nil:
			t.Errorf("%s probe: none, want GET %s", name, path)
		case p.HTTPGet.Path != path:
			t.Errorf("%s probe: GET %s, want %s", name, p.HTTPGet.Path, path)
		case p.HTTPGet.Port.StrVal != "" && ports[p.HTTPGet.Port.StrVal] == 0:
			t.Errorf("%s probe: port %q is not a port of the container", name, p.HTTPGet.Port.StrVal)
		}
	}
	probe("readiness", c.ReadinessProbe, "/readyz")
	probe("liveness", c.LivenessProbe, "/healthz")
	if ports["http"] != 8080 {
		t.Errorf("container port http = %d, want the image's 8080", ports["http"])
	}

	// Every mounted ConfigMap and Secret exists, and every file the hub's
	// configuration names under a mount is a key of what is mounted there.
	mounts := map[string]corev1.Volume{}
	for _, vm := range c.VolumeMounts {
		i := slices.IndexFunc(pod.Volumes, func(v corev1.Volume) bool { return v.Name == vm.Name })
		if i < 0 {
			t.Errorf("volume mount %s names no volume", vm.Name)
			continue
		}
		mounts[vm.MountPath] = pod.Volumes[i]
	}
	keysAt := func(dir string) (map[string]bool, bool) {
		v, ok := mounts[dir]
		if !ok {
			return nil, false
		}
		keys := map[string]bool{}
		switch {
		case v.ConfigMap != nil:
			cm := m.configMaps[v.ConfigMap.Name]
			if cm == nil {
				t.Errorf("volume %s: no ConfigMap %q", v.Name, v.ConfigMap.Name)
				return keys, true
			}
			for k := range cm.Data {
				keys[k] = len(v.ConfigMap.Items) == 0
			}
			for _, it := range v.ConfigMap.Items {
				if _, ok := cm.Data[it.Key]; !ok {
					t.Errorf("volume %s: ConfigMap %s has no key %q", v.Name, cm.Name, it.Key)
				}
				keys[it.Path] = true
			}
		case v.Secret != nil:
			s := m.secrets[v.Secret.SecretName]
			if s == nil {
				t.Errorf("volume %s: no Secret %q", v.Name, v.Secret.SecretName)
				return keys, true
			}
			for k := range s.StringData {
				keys[k] = true
			}
			for k := range s.Data {
				keys[k] = true
			}
		}
		return keys, true
	}
	fileExists := func(what, path string) {
		dir, name := filepath.Dir(path), filepath.Base(path)
		keys, ok := keysAt(dir)
		switch {
		case !ok:
			t.Errorf("%s %s: nothing is mounted at %s", what, path, dir)
		case !keys[name]:
			t.Errorf("%s %s: what is mounted at %s has no %s", what, path, dir, name)
		}
	}
	var cfgPath string
	for _, e := range c.Env {
		if e.Name == "SWITCHBOARD_CONFIG" {
			cfgPath = e.Value
		}
	}
	if cfgPath == "" {
		t.Fatal("SWITCHBOARD_CONFIG is not set: the hub would run without its configuration")
	}
	fileExists("SWITCHBOARD_CONFIG", cfgPath)
	cm := m.configMaps[mounts[filepath.Dir(cfgPath)].ConfigMap.Name]
	files := regexp.MustCompile(`(?m)^\s*[a-z_]+_file:\s*(\S+)\s*$`).FindAllStringSubmatch(cm.Data[filepath.Base(cfgPath)], -1)
	if len(files) < 3 {
		t.Fatalf("the configuration names %d secret files, want the tokens, Redis password and S3 keys", len(files))
	}
	for _, f := range files {
		fileExists("the configuration's file", f[1])
	}
	for _, must := range []string{"/tmp", "/var/lib/switchboard"} {
		if _, ok := mounts[must]; !ok && c.SecurityContext != nil && c.SecurityContext.ReadOnlyRootFilesystem != nil && *c.SecurityContext.ReadOnlyRootFilesystem {
			t.Errorf("a read-only root file system with nothing writable at %s", must)
		}
	}
}

func TestKubernetesServiceAndDisruptionBudget(t *testing.T) {
	m := load(t)
	labels := m.deployment.Spec.Template.Labels
	if !matches(m.service.Spec.Selector, labels) || len(m.service.Spec.Selector) == 0 {
		t.Errorf("the Service selects %v, not the hub's pods %v", m.service.Spec.Selector, labels)
	}
	for _, p := range m.service.Spec.Ports {
		if p.TargetPort.StrVal != "http" && p.TargetPort.IntValue() != 8080 {
			t.Errorf("the Service's port %d goes to %s, not the hub's http port", p.Port, p.TargetPort.String())
		}
	}
	pdb := m.pdb.Spec
	if pdb.Selector == nil || !matches(pdb.Selector.MatchLabels, labels) {
		t.Errorf("the PodDisruptionBudget selects %v, not the hub's pods %v", pdb.Selector, labels)
	}
	replicas := int(*m.deployment.Spec.Replicas)
	switch {
	case pdb.MinAvailable != nil && (pdb.MinAvailable.IntValue() < 1 || pdb.MinAvailable.IntValue() >= replicas):
		t.Errorf("minAvailable %s of %d replicas: a drain is either unprotected or blocked for ever", pdb.MinAvailable.String(), replicas)
	case pdb.MinAvailable == nil && pdb.MaxUnavailable == nil:
		t.Errorf("the PodDisruptionBudget sets neither minAvailable nor maxUnavailable")
	}
}

func TestKustomizationListsEveryManifest(t *testing.T) {
	m := load(t)
	raw, err := os.ReadFile("../k8s/kustomization.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var k struct {
		APIVersion string   `json:"apiVersion"`
		Kind       string   `json:"kind"`
		Resources  []string `json:"resources"`
	}
	if err := yaml.UnmarshalStrict(raw, &k); err != nil {
		t.Fatal(err)
	}
	got, want := slices.Sorted(slices.Values(k.Resources)), slices.Sorted(slices.Values(m.files))
	if k.Kind != "Kustomization" || !slices.Equal(got, want) {
		t.Errorf("kustomization.yaml (%s) lists %v, want every manifest %v", k.Kind, got, want)
	}
}

// The compose file passes the Compose Specification's schema and
// compose-go's consistency checks (every service, volume, config and
// secret it names exists), and runs what the issue asks for.
func TestCompose(t *testing.T) {
	// The schema does refuse a wrong file.
	bad := filepath.Join(t.TempDir(), "compose.yaml")
	os.WriteFile(bad, []byte("services:\n  a:\n    image: x\n    restart: sometimes\n    portz: [80]\n"), 0o600)
	if _, err := loadCompose(bad); err == nil || !strings.Contains(err.Error(), "portz") {
		t.Fatalf("a compose file with an unknown key loaded: %v", err)
	}

	p, err := loadCompose("../compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var hubs, redis []string
	for name, s := range p.Services {
		switch {
		case strings.HasPrefix(name, "hub-"):
			hubs = append(hubs, name)
			if _, ok := s.DependsOn["redis-cluster-init"]; !ok || s.DependsOn["redis-cluster-init"].Condition != "service_completed_successfully" {
				t.Errorf("%s does not wait for the cluster to form: %+v", name, s.DependsOn)
			}
			if s.Environment["SWITCHBOARD_CONFIG"] == nil || len(s.Configs) != 1 || s.Configs[0].Target != *s.Environment["SWITCHBOARD_CONFIG"] {
				t.Errorf("%s: SWITCHBOARD_CONFIG %v is not where its config is mounted (%+v)", name, s.Environment["SWITCHBOARD_CONFIG"], s.Configs)
			}
			if s.User != "" {
				t.Errorf("%s overrides the image's non-root user with %q", name, s.User)
			}
		case strings.HasPrefix(name, "redis-") && name != "redis-cluster-init":
			redis = append(redis, name)
			if !slices.Contains(s.Command, "--cluster-enabled") {
				t.Errorf("%s is not a cluster node: %v", name, s.Command)
			}
		}
	}
	if len(hubs) != 3 || len(redis) != 6 {
		t.Errorf("%d hubs and %d Redis nodes, want 3 hubs and 6 nodes (3 primaries, one replica each)", len(hubs), len(redis))
	}
	init := p.Services["redis-cluster-init"]
	if !strings.Contains(strings.Join(init.Command, " "), "--cluster-replicas 1") {
		t.Errorf("redis-cluster-init does not create a cluster with one replica per primary: %v", init.Command)
	}
	for _, c := range p.Configs {
		if _, err := os.Stat(c.File); err != nil {
			t.Errorf("config %s: %v", c.Name, err)
		}
	}
}

func loadCompose(path string) (*types.Project, error) {
	opts, err := cli.NewProjectOptions([]string{path}, cli.WithWorkingDirectory(filepath.Dir(path)), cli.WithName("switchboard"),
		cli.WithEnv([]string{"SWITCHBOARD_IMAGE=localhost/switchboard:dev"}))
	if err != nil {
		return nil, err
	}
	return opts.LoadProject(context.Background())
}

func matches(sel, labels map[string]string) bool {
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}
