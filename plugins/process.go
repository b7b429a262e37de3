package plugins

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/switchboard-hub/switchboard/connectors"
	pb "github.com/switchboard-hub/switchboard/plugins/internal/proto"
	"github.com/switchboard-hub/switchboard/plugins/internal/wire"
)

// ProtocolVersion is the plugin protocol this hub speaks.
const ProtocolVersion = wire.ProtocolVersion

// ErrRefused marks a plugin the host will not run as it is: a checksum
// mismatch, another protocol version, output on stdout before the
// handshake, an invalid description or settings it rejected. Trying again
// at once will not help; the supervisor waits its longest backoff.
var ErrRefused = errors.New("plugin refused")

// Spec says which binary to run for a channel, with what settings.
type Spec struct {
	// Plugin is the configured plugin name (plugins[].name).
	Plugin string
	Path   string
	// SHA256, when set, must match the binary (lower-case hex).
	SHA256   string
	Settings map[string]string
	// VerifiedKinds are the hub's own identity kinds (email, phone, slack)
	// the operator lets this plugin vouch for (plugins[].verified_kinds).
	// A plugin declaring another built-in kind verified gets it as claimed.
	VerifiedKinds []string
}

// BuiltinKinds are the identity kinds the hub's own channels produce. A
// plugin may declare them, but its identities of these kinds are verified
// only when the operator allowed it (Spec.VerifiedKinds): otherwise any
// plugin could take over a customer by claiming their e-mail address.
var BuiltinKinds = []string{connectors.Email, connectors.Phone, connectors.Slack}

// process is one running plugin binary.
type process struct {
	spec   Spec
	client *plugin.Client
	rpc    pb.ChannelClient
	info   Info
	pid    int
	cmd    *exec.Cmd
	host   *hostService
	// receiving: Run is running in the plugin (always, unless RunOnce and
	// this replica does not hold the lease). Only the supervisor uses it.
	receiving bool

	mu      sync.Mutex
	hostSrv *grpc.Server
}

type launchOptions struct {
	channel    string
	sink       connectors.Sink
	status     connectors.StatusSink
	log        *slog.Logger
	maxText    int
	webhookURL string
	// startTimeout bounds the handshake and each set-up call.
	startTimeout time.Duration
	// receive decides, once the plugin described itself, whether it
	// starts receiving now.
	receive func(Info) bool
	// output limits what the plugin's stderr and stdout may log.
	output *outputLimiter
}

// launch starts the binary, checks it and starts its channel. Every error
// names the plugin and says what to do; refusals wrap ErrRefused.
func launch(ctx context.Context, spec Spec, o launchOptions) (_ *process, err error) {
	refused := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s (%s): %s", ErrRefused, spec.Plugin, spec.Path, fmt.Sprintf(format, args...))
	}
	path, err := filepath.Abs(spec.Path)
	if err != nil {
		return nil, refused("%v", err)
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("plugin %s: %w", spec.Plugin, err)
	}
	if st.IsDir() || st.Mode()&0o111 == 0 {
		return nil, refused("not an executable file")
	}
	if st.Mode().Perm()&0o002 != 0 {
		return nil, refused("the binary is writable by every user (mode %v); make it writable by its owner only", st.Mode().Perm())
	}
	var secure *plugin.SecureConfig
	if spec.SHA256 != "" {
		want, err := hex.DecodeString(strings.ToLower(spec.SHA256))
		if err != nil || len(want) != sha256.Size {
			return nil, refused("sha256 %q is not 64 hex digits", spec.SHA256)
		}
		// Hash a private copy and run that copy: checking the configured
		// path and then executing it would let whoever can write it swap
		// the binary in between.
		dir, err := os.MkdirTemp("", "switchboard-plugin-")
		if err != nil {
			return nil, fmt.Errorf("plugin %s: private copy: %w", spec.Plugin, err)
		}
		defer os.RemoveAll(dir) // the started process keeps its inode
		copyPath := filepath.Join(dir, filepath.Base(path))
		got, err := copyAndHash(path, copyPath)
		if err != nil {
			return nil, fmt.Errorf("plugin %s: checksum: %w", spec.Plugin, err)
		}
		if got != strings.ToLower(spec.SHA256) {
			return nil, refused("checksum mismatch: the binary's SHA-256 is %s but the configuration says %s; refusing to launch a binary that is not the one configured", got, strings.ToLower(spec.SHA256))
		}
		path = copyPath
		// go-plugin hashes the copy again right before it starts it; only
		// this process can write the copy's directory.
		secure = &plugin.SecureConfig{Checksum: want, Hash: sha256.New()}
	}

	plog := o.log
	cmd := exec.Command(path)
	// The plugin gets its settings over gRPC, not the hub's environment
	// (which may hold SWITCHBOARD_* secrets).
	cmd.Env = minimalEnv()
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  wire.Handshake,
		Plugins:          wire.Plugins(nil),
		Cmd:              cmd,
		SecureConfig:     secure,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		SkipHostEnv:      true,
		StartTimeout:     o.startTimeout,
		Logger:           newLimitedHCLog(plog, o.output),
		Stderr:           io.Discard,
		SyncStdout:       &lineLogger{l: plog, stream: "stdout", limit: o.output},
		SyncStderr:       &lineLogger{l: plog, stream: "stderr", limit: o.output},
		GRPCDialOptions: []grpc.DialOption{grpc.WithDefaultCallOptions(
			grpc.MaxCallRecvMsgSize(wire.MaxMessageBytes), grpc.MaxCallSendMsgSize(wire.MaxMessageBytes))},
	})
	defer func() {
		if err != nil {
			// SIGKILL first: go-plugin's Kill asks the plugin to shut down
			// and waits without a deadline, forever on a frozen process.
			if cmd.Process != nil {
				_ = cmd.Process.Kill()
			}
			client.Kill()
		}
	}()
	proto, err := client.Client()
	if err != nil {
		return nil, handshakeError(spec, err)
	}
	raw, err := proto.Dispense(wire.PluginName)
	if err != nil {
		return nil, refused("does not serve a channel: %v", err)
	}
	wc := raw.(*wire.Client)
	p := &process{spec: spec, client: client, rpc: wc.Channel, cmd: cmd}
	if rc := client.ReattachConfig(); rc != nil {
		p.pid = rc.Pid
	}

	cctx, cancel := context.WithTimeout(ctx, o.startTimeout)
	defer cancel()
	desc, err := p.rpc.Describe(cctx, &pb.DescribeRequest{})
	if err != nil {
		return nil, fmt.Errorf("plugin %s: describe: %w", spec.Plugin, err)
	}
	p.info = fromprotoInfo(desc)
	if err := checkInfo(p.info); err != nil {
		return nil, refused("invalid description: %v", err)
	}
	for i, k := range p.info.Identities {
		if k.Verified && slices.Contains(BuiltinKinds, k.Kind) && !slices.Contains(spec.VerifiedKinds, k.Kind) {
			plog.Warn("the plugin declares a built-in identity kind verified; it is treated as claimed (list it in plugins[].verified_kinds to trust it)",
				"channel", o.channel, "kind", k.Kind)
			p.info.Identities[i].Verified = false
		}
	}

	p.host = newHostService(o.channel, p.info, o.sink, o.status, o.maxText, plog.With("channel", o.channel))
	brokerID := wc.Broker.NextId()
	go wc.Broker.AcceptAndServe(brokerID, func(opts []grpc.ServerOption) *grpc.Server {
		s := grpc.NewServer(append(opts, grpc.MaxRecvMsgSize(wire.MaxMessageBytes), grpc.MaxSendMsgSize(wire.MaxMessageBytes))...)
		pb.RegisterHostServer(s, p.host)
		p.mu.Lock()
		p.hostSrv = s
		p.mu.Unlock()
		return s
	})
	p.receiving = o.receive == nil || o.receive(p.info)
	resp, err := p.rpc.Start(cctx, &pb.StartRequest{Channel: o.channel, Settings: spec.Settings, HostBrokerId: brokerID,
		MaxTextBytes: int64(o.maxText), WebhookUrl: o.webhookURL, Receive: p.receiving})
	if err != nil {
		return nil, fmt.Errorf("plugin %s: start: %w", spec.Plugin, err)
	}
	if resp.Error != "" {
		return nil, refused("rejected its settings: %s", resp.Error)
	}
	return p, nil
}

// handshakeError explains go-plugin's start-up failures.
func handshakeError(spec Spec, err error) error {
	msg := err.Error()
	switch {
	case errors.Is(err, plugin.ErrChecksumsDoNotMatch):
		return fmt.Errorf("%w: %s (%s): the binary changed after its checksum was verified", ErrRefused, spec.Plugin, spec.Path)
	case strings.Contains(msg, "incompatible API version"):
		return fmt.Errorf("%w: %s (%s): wrong plugin protocol version: this hub speaks version %d; rebuild the plugin with a matching plugins/sdk (%s)",
			ErrRefused, spec.Plugin, spec.Path, ProtocolVersion, msg)
	case strings.Contains(msg, "Unrecognized remote plugin message"):
		return fmt.Errorf("%w: %s (%s): it wrote to stdout before the handshake, which is not a plugin handshake; a plugin must never print to stdout (log with the SDK's logger) (%s)",
			ErrRefused, spec.Plugin, spec.Path, firstLine(msg))
	case strings.Contains(msg, "unsupported plugin protocol"):
		return fmt.Errorf("%w: %s (%s): it does not serve gRPC (%s)", ErrRefused, spec.Plugin, spec.Path, msg)
	case strings.Contains(msg, "incompatible core API version"):
		return fmt.Errorf("%w: %s (%s): built with an incompatible go-plugin (%s)", ErrRefused, spec.Plugin, spec.Path, firstLine(msg))
	}
	return fmt.Errorf("plugin %s (%s): start: %w", spec.Plugin, spec.Path, err)
}

func firstLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}

var kindRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

func checkInfo(in Info) error {
	var errs []error
	if in.Name == "" {
		errs = append(errs, errors.New("name is empty"))
	}
	if len(in.Identities) == 0 {
		errs = append(errs, errors.New("declares no identity kinds"))
	}
	for _, k := range in.Identities {
		if !kindRe.MatchString(k.Kind) {
			errs = append(errs, fmt.Errorf("identity kind %q is not a lower-case word", k.Kind))
		}
	}
	for _, r := range in.Routes {
		if !strings.HasPrefix(r.Path, "/") || strings.Contains(r.Path, "..") {
			errs = append(errs, fmt.Errorf("route path %q must start with / and not contain ..", r.Path))
		}
		switch r.Method {
		case "GET", "POST", "PUT", "PATCH", "DELETE":
		default:
			errs = append(errs, fmt.Errorf("route method %q is not one of GET, POST, PUT, PATCH, DELETE", r.Method))
		}
	}
	return errors.Join(errs...)
}

// copyAndHash copies src to dst (mode 0700) and returns the SHA-256 of
// what it copied.
func copyAndHash(src, dst string) (string, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o700)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(out, h), in); err != nil {
		out.Close()
		return "", err
	}
	if err := out.Close(); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// minimalEnv is what a plugin process inherits: enough to run (PATH, HOME,
// TMPDIR, locale, proxies and TLS roots for reaching its provider).
func minimalEnv() []string {
	var env []string
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "TZ", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY",
		"http_proxy", "https_proxy", "no_proxy", "SSL_CERT_FILE", "SSL_CERT_DIR", "GORACE"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// exited reports whether the process has ended.
func (p *process) exited() bool { return p.client.Exited() }

// stop asks the plugin to stop receiving (bounded by timeout), then ends
// the process; a plugin that does not answer is killed.
func (p *process) stop(timeout time.Duration) {
	if !p.client.Exited() {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		_, err := p.rpc.Stop(ctx, &pb.StopRequest{})
		cancel()
		if err != nil {
			p.kill()
			return
		}
	}
	p.stopHost()
	p.client.Kill()
}

// kill ends the process with SIGKILL before go-plugin's Kill, whose
// graceful shutdown waits without a deadline on a hung process.
func (p *process) kill() {
	if p.cmd.Process != nil && !p.client.Exited() {
		_ = p.cmd.Process.Kill()
	}
	p.stopHost()
	p.client.Kill()
}

func (p *process) stopHost() {
	p.mu.Lock()
	s := p.hostSrv
	p.mu.Unlock()
	if s != nil {
		s.Stop()
	}
}

// setReceive starts or stops the plugin's Run.
func (p *process) setReceive(ctx context.Context, on bool, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	resp, err := p.rpc.SetReceive(ctx, &pb.SetReceiveRequest{Receive: on})
	if err != nil {
		return err
	}
	if resp.Error != "" {
		return errors.New(resp.Error)
	}
	p.receiving = on
	return nil
}

// health asks the plugin whether it is well, with a deadline: go-plugin's
// own Ping has none, and a hung (e.g. stopped) process would block it.
func (p *process) health(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	h, err := p.rpc.Health(ctx, &pb.HealthRequest{})
	if err != nil {
		return fmt.Errorf("health check: %w", err)
	}
	if !h.Ok {
		return fmt.Errorf("the plugin reports it stopped receiving: %s", h.Error)
	}
	return nil
}
