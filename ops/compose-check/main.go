// compose-check validates the deployment files without a Docker engine:
//
//   - docker-compose.yml through compose-go (the library `docker compose` itself uses: schema
//     validation, interpolation, merge keys, consistency), with the caller's environment;
//   - the Rinha budget: nginx + api1 + api2 + rabbitmq limits <= 1.5 CPU and <= 3 GiB, and every
//     service (the replica too) has explicit limits;
//   - the topology the project promises (healthchecked broker before the APIs, credentials that are
//     not guest/guest, management UI, stream plugin, tmpfs data dir, replica on its own network);
//   - the Dockerfile through BuildKit's parser (multi-stage, non-root USER, ENTRYPOINT bardo);
//   - nginx.conf's promises that can be read from text (the full syntax check is `nginx -t` in
//     ops/compose-check.sh).
//
// Usage: compose-check REPO_ROOT. Prints one line per check; exits 1 when any fails.
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

const (
	budgetCPUs   = 1.5
	budgetMemory = 3 << 30 // compose's "3G"/"3GB" is 3 GiB
)

var siteA = []string{"nginx", "api1", "api2", "rabbitmq"}

type checker struct{ failed int }

func (c *checker) check(ok bool, format string, args ...any) bool {
	status := "ok  "
	if !ok {
		status = "FAIL"
		c.failed++
	}
	fmt.Printf("%s %s\n", status, fmt.Sprintf(format, args...))
	return ok
}

func main() {
	root := "."
	if len(os.Args) > 1 {
		root = os.Args[1]
	}
	root, _ = filepath.Abs(root)
	c := &checker{}
	project := loadCompose(c, root)
	if project != nil {
		checkBudget(c, project)
		checkServices(c, project)
	}
	checkDockerfile(c, filepath.Join(root, "Dockerfile"))
	checkNginx(c, filepath.Join(root, "nginx.conf"))
	if c.failed > 0 {
		fmt.Printf("compose-check: %d check(s) failed\n", c.failed)
		os.Exit(1)
	}
	fmt.Println("compose-check: all checks passed")
}

func load(root string, env []string) (*types.Project, error) {
	opts, err := cli.NewProjectOptions(
		[]string{filepath.Join(root, "docker-compose.yml")},
		cli.WithWorkingDirectory(root),
		cli.WithEnv(env),
		cli.WithDotEnv,
		cli.WithName("bardo"),
	)
	if err != nil {
		return nil, err
	}
	return opts.LoadProject(context.Background())
}

func loadCompose(c *checker, root string) *types.Project {
	project, err := load(root, os.Environ())
	if !c.check(err == nil, "docker-compose.yml loads (compose-spec schema, interpolation, consistency): %v", errText(err)) {
		return nil
	}
	// The broker password has no default: a compose run without it must refuse to start.
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "RABBITMQ_PASSWORD=") {
			env = append(env, kv)
		}
	}
	_, err = load(root, env)
	c.check(err != nil && strings.Contains(err.Error(), "RABBITMQ_PASSWORD"),
		"without RABBITMQ_PASSWORD the file is refused: %v", errText(err))
	return project
}

func errText(err error) string {
	if err == nil {
		return "no error"
	}
	first, _, more := strings.Cut(err.Error(), "\n")
	if more {
		first += " (…)"
	}
	return first
}

func limits(s types.ServiceConfig) (float64, int64, bool) {
	if s.Deploy == nil || s.Deploy.Resources.Limits == nil {
		return 0, 0, false
	}
	l := s.Deploy.Resources.Limits
	return float64(l.NanoCPUs), int64(l.MemoryBytes), l.NanoCPUs > 0 && l.MemoryBytes > 0
}

func checkBudget(c *checker, p *types.Project) {
	var cpus float64
	var mem int64
	for _, name := range siteA {
		s, err := p.GetService(name)
		if !c.check(err == nil, "service %s exists", name) {
			continue
		}
		cpu, m, ok := limits(s)
		c.check(ok, "%s has deploy.resources.limits: cpus %.2f, memory %d MiB", name, cpu, m>>20)
		cpus += cpu
		mem += m
	}
	// float32 in compose-go: compare with a little slack for 0.2 + 0.5 + 0.5 + 0.3.
	c.check(cpus <= budgetCPUs+1e-6, "site A budget: nginx+api1+api2+rabbitmq = %.2f CPU <= %.1f", cpus, budgetCPUs)
	c.check(mem <= budgetMemory, "site A budget: nginx+api1+api2+rabbitmq = %d MiB <= %d MiB (3 GiB)", mem>>20, budgetMemory>>20)
	if s, err := p.GetService("replica"); c.check(err == nil, "service replica exists (site B)") {
		cpu, m, ok := limits(s)
		c.check(ok, "replica has its own limits (outside site A's budget): cpus %.2f, memory %d MiB", cpu, m>>20)
	}
}

func env(s types.ServiceConfig, key string) string {
	if v, ok := s.Environment[key]; ok && v != nil {
		return *v
	}
	return ""
}

func healthyDependency(s types.ServiceConfig, on string) bool {
	d, ok := s.DependsOn[on]
	return ok && d.Condition == types.ServiceConditionHealthy
}

func checkServices(c *checker, p *types.Project) {
	checkRabbit(c, p)
	for _, name := range []string{"api1", "api2", "replica"} {
		s, err := p.GetService(name)
		if err != nil {
			continue
		}
		role := "serve"
		if name == "replica" {
			role = "replica"
		}
		c.check(s.Build != nil && s.Build.Dockerfile == "Dockerfile", "%s is built from the Dockerfile", name)
		c.check(slices.Equal(s.Command, types.ShellCommand{role}), "%s runs `bardo %s` (command %v)", name, role, s.Command)
		c.check(healthyDependency(s, "rabbitmq"), "%s starts after rabbitmq is healthy", name)
		c.check(s.HealthCheck != nil && len(s.HealthCheck.Test) > 0, "%s has a healthcheck", name)
		for _, key := range []string{"BARDO_AMQP_URL", "BARDO_INSTANCE", "BARDO_SITE"} {
			c.check(env(s, key) != "", "%s sets %s=%q", name, key, redact(env(s, key)))
		}
		c.check(strings.Contains(env(s, "BARDO_AMQP_URL"), "@rabbitmq:5672"), "%s reaches the broker at rabbitmq:5672", name)
		if role == "serve" {
			url := env(s, "BARDO_SNAPSHOT_URL")
			c.check(strings.HasPrefix(url, "http://replica:") && strings.HasSuffix(url, "/internal/snapshot"),
				"%s bootstraps from the replica: BARDO_SNAPSHOT_URL=%s", name, url)
			c.check(sharesNetwork(s, mustService(p, "replica")), "%s can reach the replica (a shared network)", name)
		}
	}
	if s, err := p.GetService("replica"); err == nil {
		_, own := s.Networks["site-b"]
		c.check(own, "replica is on its own network site-b")
		for _, other := range siteA {
			o, err := p.GetService(other)
			if _, onB := o.Networks["site-b"]; err == nil && onB {
				c.check(false, "%s must not be on site-b", other)
			}
		}
		c.check(sharesNetwork(s, mustService(p, "rabbitmq")), "replica has a link network to the broker")
		c.check(env(s, "BARDO_SITE") != env(mustService(p, "api1"), "BARDO_SITE"), "replica is another site (%s)", env(s, "BARDO_SITE"))
	}
	if s, err := p.GetService("nginx"); err == nil {
		c.check(strings.HasPrefix(s.Image, "nginx"), "nginx uses the nginx image (%s)", s.Image)
		mounted := false
		for _, v := range s.Volumes {
			mounted = mounted || (filepath.Base(v.Source) == "nginx.conf" && v.Target == "/etc/nginx/nginx.conf")
		}
		c.check(mounted, "nginx mounts ./nginx.conf at /etc/nginx/nginx.conf")
		c.check(publishes(s, 9999), "nginx publishes port 9999")
		c.check(healthyDependency(s, "api1") && healthyDependency(s, "api2"), "nginx starts after api1 and api2 are healthy")
	}
}

func mustService(p *types.Project, name string) types.ServiceConfig {
	s, _ := p.GetService(name)
	return s
}

func sharesNetwork(a, b types.ServiceConfig) bool {
	for n := range a.Networks {
		if _, ok := b.Networks[n]; ok {
			return true
		}
	}
	return false
}

func publishes(s types.ServiceConfig, port uint32) bool {
	for _, p := range s.Ports {
		if p.Target == port && p.Published != "" {
			return true
		}
	}
	return false
}

var userinfo = regexp.MustCompile(`://([^:/@]+):[^@]*@`)

func redact(v string) string { return userinfo.ReplaceAllString(v, "://$1:***@") }

func checkRabbit(c *checker, p *types.Project) {
	s, err := p.GetService("rabbitmq")
	if err != nil {
		return
	}
	c.check(regexp.MustCompile(`^rabbitmq:[34][0-9.]*-management`).MatchString(s.Image), "rabbitmq image %s has the management UI", s.Image)
	c.check(publishes(s, 15672), "rabbitmq publishes the management UI on 15672")
	user, pass := env(s, "RABBITMQ_DEFAULT_USER"), env(s, "RABBITMQ_DEFAULT_PASS")
	c.check(user != "" && user != "guest", "rabbitmq user is not guest (%q)", user)
	c.check(pass != "" && pass != "guest", "rabbitmq password is set and not guest")
	tmpfs := false
	for _, t := range s.Tmpfs {
		tmpfs = tmpfs || strings.HasPrefix(t, "/var/lib/rabbitmq")
	}
	for _, v := range s.Volumes {
		tmpfs = tmpfs || (v.Type == types.VolumeTypeTmpfs && v.Target == "/var/lib/rabbitmq")
	}
	c.check(tmpfs, "rabbitmq data dir /var/lib/rabbitmq is a tmpfs")
	plugins := ""
	for _, ref := range s.Configs {
		if ref.Target == "/etc/rabbitmq/enabled_plugins" {
			plugins = p.Configs[ref.Source].Content
		}
	}
	c.check(strings.Contains(plugins, "rabbitmq_stream") && strings.Contains(plugins, "rabbitmq_management"),
		"rabbitmq enabled_plugins holds rabbitmq_management and rabbitmq_stream (%s)", strings.TrimSpace(plugins))
	c.check(s.HealthCheck != nil && len(s.HealthCheck.Test) > 0, "rabbitmq has a healthcheck")
}

func checkDockerfile(c *checker, path string) {
	f, err := os.Open(path)
	if !c.check(err == nil, "Dockerfile exists: %v", errText(err)) {
		return
	}
	defer f.Close()
	ast, err := parser.Parse(f)
	if !c.check(err == nil, "Dockerfile parses (BuildKit parser): %v", errText(err)) {
		return
	}
	for _, w := range ast.Warnings {
		c.check(false, "Dockerfile parser warning: %s", w.Short)
	}
	var lint []string
	l := linter.New(&linter.Config{Warn: func(rule, _, _, msg string, _ []parser.Range) {
		lint = append(lint, rule+": "+msg)
	}})
	stages, metaArgs, err := instructions.Parse(ast.AST, l)
	if !c.check(err == nil, "Dockerfile instructions are valid: %v", errText(err)) {
		return
	}
	c.check(len(lint) == 0, "Dockerfile has no BuildKit lint warnings %v", lint)
	c.check(len(stages) >= 2, "Dockerfile is multi-stage (%d stages)", len(stages))
	platform := ""
	for _, a := range metaArgs {
		for _, kv := range a.Args {
			if kv.Key == "BARDO_PLATFORM" && kv.Value != nil {
				platform = *kv.Value
			}
		}
	}
	for _, st := range stages {
		p := strings.ReplaceAll(st.Platform, "$BARDO_PLATFORM", platform)
		c.check(p == "linux/amd64", "stage %q (%s) builds for linux/amd64 (%q)", st.Name, st.BaseName, p)
	}
	final := stages[len(stages)-1]
	user, entrypoint := "", []string(nil)
	for _, cmd := range final.Commands {
		switch v := cmd.(type) {
		case *instructions.UserCommand:
			user = v.User
		case *instructions.EntrypointCommand:
			entrypoint = v.CmdLine
		}
	}
	name := strings.SplitN(user, ":", 2)[0]
	c.check(name != "" && name != "root" && name != "0", "final stage runs as a non-root user (USER %s)", user)
	c.check(len(entrypoint) > 0 && filepath.Base(entrypoint[0]) == "bardo", "ENTRYPOINT is bardo (%v)", entrypoint)
}

func checkNginx(c *checker, path string) {
	data, err := os.ReadFile(path)
	if !c.check(err == nil, "nginx.conf exists: %v", errText(err)) {
		return
	}
	// Comments out, whitespace collapsed: the directives as nginx sees them.
	var lines []string
	for _, line := range strings.Split(string(data), "\n") {
		if i := strings.Index(line, "#"); i >= 0 {
			line = line[:i]
		}
		lines = append(lines, strings.Join(strings.Fields(line), " "))
	}
	conf := strings.Join(lines, "\n")
	has := func(re string) bool { return regexp.MustCompile(re).MatchString(conf) }
	c.check(has(`(?m)^access_log off;`), "nginx: access_log off")
	c.check(has(`(?m)^worker_connections [0-9]{4,};`), "nginx: worker_connections >= 1000")
	c.check(has(`(?s)upstream api \{[^}]*server api1:9999;[^}]*server api2:9999;[^}]*keepalive [0-9]+;`),
		"nginx: upstream api over api1:9999 and api2:9999 with keepalive")
	c.check(has(`(?m)^proxy_http_version 1\.1;`) && has(`(?m)^proxy_set_header Connection "";`),
		"nginx: proxy_http_version 1.1 with an empty Connection header")
	c.check(has(`(?s)location \^~ /internal/ \{\s*return 40[34];`), "nginx: /internal/ answers 403/404, never proxied")
	c.check(has(`(?m)^listen 9999\b`), "nginx: listens on 9999")
}
