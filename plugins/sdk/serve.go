package sdk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	pb "github.com/switchboard-hub/switchboard/plugins/internal/proto"
	"github.com/switchboard-hub/switchboard/plugins/internal/wire"
)

// Version of the SDK, reported to the hub.
const Version = "1.0.0"

// ProtocolVersion is the hub/plugin protocol this SDK speaks. A hub that
// speaks another version refuses the plugin at the handshake.
const ProtocolVersion = wire.ProtocolVersion

// Serve runs ch as a plugin under the hub and never returns. Call it from
// main. Run by hand (not by the hub), it prints an explanation and exits.
func Serve(ch Channel) {
	log := NewLogger(os.Stderr, slog.LevelDebug)
	go exitWithParent(log)
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: wire.Handshake,
		Plugins: wire.Plugins(func(b *plugin.GRPCBroker) pb.ChannelServer {
			return newServer(ch, b, log)
		}),
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			return grpc.NewServer(append(opts, grpc.MaxRecvMsgSize(wire.MaxMessageBytes), grpc.MaxSendMsgSize(wire.MaxMessageBytes))...)
		},
	})
	os.Exit(0)
}

// exitWithParent ends the plugin when the hub that launched it is gone
// (killed with SIGKILL, it cannot stop its plugins): the process is then
// re-parented and would otherwise linger, still polling its provider.
func exitWithParent(log *slog.Logger) {
	parent := os.Getppid()
	for range time.Tick(time.Second) {
		if os.Getppid() != parent {
			log.Warn("the hub is gone; exiting")
			os.Exit(0)
		}
	}
}

// NewLogger returns a slog.Logger writing JSON lines in the shape
// go-plugin's host parses (@level, @message, @timestamp), so each line
// becomes a structured entry in the hub's log under the plugin's name.
// Serve hands one to Configure; tests may use it on any writer.
func NewLogger(w io.Writer, level slog.Leveler) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
		if len(groups) > 0 {
			return a
		}
		switch a.Key {
		case slog.TimeKey:
			return slog.String("@timestamp", a.Value.Time().Format("2006-01-02T15:04:05.000000Z07:00"))
		case slog.LevelKey:
			return slog.String("@level", strings.ToLower(a.Value.String()))
		case slog.MessageKey:
			return slog.String("@message", a.Value.String())
		}
		return a
	}}))
}

// server is the Channel service a plugin serves; Serve builds it. It is
// unexported: its methods take the internal wire types.
type server struct {
	pb.UnimplementedChannelServer
	ch     Channel
	broker *plugin.GRPCBroker
	log    *slog.Logger

	mu      sync.Mutex
	started bool
	cancel  context.CancelFunc
	done    chan struct{}
	runErr  error
	host    *hostClient
}

// newServer returns the Channel service for ch.
func newServer(ch Channel, broker *plugin.GRPCBroker, log *slog.Logger) *server {
	return &server{ch: ch, broker: broker, log: log}
}

func (s *server) Describe(ctx context.Context, _ *pb.DescribeRequest) (*pb.DescribeResponse, error) {
	_, canTest := s.ch.(Tester)
	_, canInject := s.ch.(Injector)
	return toprotoDescription(s.ch.Describe(), true, canTest, canInject), nil
}

func (s *server) Start(ctx context.Context, req *pb.StartRequest) (*pb.StartResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return &pb.StartResponse{Error: "already started"}, nil
	}
	conn, err := s.broker.DialWithOptions(req.HostBrokerId, grpc.WithDefaultCallOptions(
		grpc.MaxCallRecvMsgSize(wire.MaxMessageBytes), grpc.MaxCallSendMsgSize(wire.MaxMessageBytes)))
	if err != nil {
		return nil, fmt.Errorf("dial the hub's host service: %w", err)
	}
	host := newHostClient(conn)
	cfg := Config{Channel: req.Channel, Settings: req.Settings, WebhookURL: req.WebhookUrl, MaxTextBytes: int(req.MaxTextBytes),
		Logger: s.log.With("channel", req.Channel), Host: host}
	if cfg.Settings == nil {
		cfg.Settings = map[string]string{}
	}
	if err := s.ch.Configure(ctx, cfg); err != nil {
		host.close()
		return &pb.StartResponse{Error: err.Error()}, nil
	}
	s.host, s.started = host, true
	if req.Receive {
		s.startRun()
	}
	return &pb.StartResponse{}, nil
}

// startRun starts Run (s.mu held).
func (s *server) startRun() {
	if s.cancel != nil {
		return
	}
	rctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	s.cancel, s.done, s.runErr = cancel, done, nil
	go func() {
		defer close(done)
		err := s.ch.Run(rctx, s.host)
		if err == nil && rctx.Err() == nil {
			err = errors.New("Run returned before the hub stopped the plugin")
		}
		if rctx.Err() == nil {
			s.log.Error("channel stopped receiving", "err", err)
			s.mu.Lock()
			s.runErr = err
			s.mu.Unlock()
		}
	}()
}

// stopRun cancels Run and waits for it (bounded by ctx).
func (s *server) stopRun(ctx context.Context) error {
	s.mu.Lock()
	cancel, done := s.cancel, s.done
	s.cancel, s.done = nil, nil
	s.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("Run did not return: %w", ctx.Err())
	}
}

// SetReceive starts or stops Run (the hub moves a RunOnce channel's
// receiving between replicas with it).
func (s *server) SetReceive(ctx context.Context, req *pb.SetReceiveRequest) (*pb.SetReceiveResponse, error) {
	if !req.Receive {
		if err := s.stopRun(ctx); err != nil {
			return nil, err
		}
		return &pb.SetReceiveResponse{}, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started {
		return &pb.SetReceiveResponse{Error: "not started"}, nil
	}
	s.startRun()
	return &pb.SetReceiveResponse{}, nil
}

func (s *server) Health(ctx context.Context, _ *pb.HealthRequest) (*pb.HealthResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.runErr != nil {
		return &pb.HealthResponse{Ok: false, Error: s.runErr.Error()}, nil
	}
	return &pb.HealthResponse{Ok: true}, nil
}

func (s *server) Send(ctx context.Context, req *pb.SendRequest) (*pb.SendResponse, error) {
	res, err := s.ch.Send(ctx, fromprotoOutgoing(req.Out))
	if err != nil {
		return &pb.SendResponse{Error: toprotoSendError(err)}, nil
	}
	if res.Status == "" {
		res.Status = "sent"
	}
	// The provider took the message: a response that cannot be encoded
	// (proto3 strings are UTF-8) would make the hub send it again.
	return &pb.SendResponse{ProviderId: strings.ToValidUTF8(res.ProviderID, "\uFFFD"), Status: strings.ToValidUTF8(res.Status, "\uFFFD")}, nil
}

func (s *server) HandleHTTP(ctx context.Context, req *pb.HTTPRequest) (*pb.HTTPResponse, error) {
	h, ok := s.ch.(http.Handler)
	if !ok {
		return &pb.HTTPResponse{Status: http.StatusNotFound, Body: []byte("this plugin serves no routes\n")}, nil
	}
	target := req.Path
	if req.RawQuery != "" {
		target += "?" + req.RawQuery
	}
	r, err := http.NewRequestWithContext(ctx, req.Method, target, bytes.NewReader(req.Body))
	if err != nil {
		return &pb.HTTPResponse{Status: http.StatusBadRequest, Body: []byte(err.Error())}, nil
	}
	for _, hd := range req.Headers {
		for _, v := range hd.Values {
			r.Header.Add(hd.Name, v)
		}
	}
	r.RemoteAddr = req.RemoteAddr
	r.ContentLength = int64(len(req.Body))
	w := &recorder{header: http.Header{}}
	h.ServeHTTP(w, r)
	if w.status == 0 {
		w.status = http.StatusOK
	}
	out := &pb.HTTPResponse{Status: int32(w.status), Body: w.body.Bytes()}
	for k, vs := range w.header {
		out.Headers = append(out.Headers, &pb.Header{Name: k, Values: vs})
	}
	return out, nil
}

func (s *server) Test(ctx context.Context, _ *pb.TestRequest) (*pb.TestResponse, error) {
	t, ok := s.ch.(Tester)
	if !ok {
		return &pb.TestResponse{Report: "the plugin has no credentials test"}, nil
	}
	report, err := t.Test(ctx)
	if err != nil {
		return &pb.TestResponse{Report: report, Error: err.Error()}, nil
	}
	return &pb.TestResponse{Report: report}, nil
}

func (s *server) Inject(ctx context.Context, req *pb.InjectRequest) (*pb.InjectResponse, error) {
	in, ok := s.ch.(Injector)
	if !ok {
		return &pb.InjectResponse{Error: "the plugin cannot inject messages"}, nil
	}
	if err := in.Inject(ctx, req.Key, req.Text); err != nil {
		return &pb.InjectResponse{Error: err.Error()}, nil
	}
	return &pb.InjectResponse{}, nil
}

// Stop cancels Run and waits (bounded by the caller's deadline) for it to
// return, so deliveries in flight are acknowledged or abandoned cleanly.
func (s *server) Stop(ctx context.Context, _ *pb.StopRequest) (*pb.StopResponse, error) {
	if err := s.stopRun(ctx); err != nil {
		return nil, err
	}
	s.mu.Lock()
	host := s.host
	s.mu.Unlock()
	if host != nil {
		host.close()
	}
	return &pb.StopResponse{}, nil
}

// recorder is the ResponseWriter a forwarded webhook request is served into.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}

// hostClient is the Host a plugin delivers into: one Deliver stream,
// shared by every caller, acks matched to callers by sequence number. A
// broken stream fails the deliveries waiting on it with ErrUnavailable
// (they were not acknowledged, so the plugin redelivers them) and the next
// Deliver opens a new one.
type hostClient struct {
	conn   *grpc.ClientConn
	client pb.HostClient
	ctx    context.Context
	cancel context.CancelFunc

	mu  sync.Mutex
	cur *deliverStream
	seq uint64
}

type deliverStream struct {
	stream  pb.Host_DeliverClient
	sendMu  sync.Mutex
	pending map[uint64]chan *pb.Ack // guarded by hostClient.mu
	broken  error
}

func newHostClient(conn *grpc.ClientConn) *hostClient {
	ctx, cancel := context.WithCancel(context.Background())
	return &hostClient{conn: conn, client: pb.NewHostClient(conn), ctx: ctx, cancel: cancel}
}

// maxDelivery leaves room for the envelope in a gRPC message.
const maxDelivery = wire.MaxMessageBytes - 64<<10

func (h *hostClient) Deliver(ctx context.Context, m Message) (string, error) {
	pm := toprotoMessage(m)
	if n := proto.Size(pm); n > maxDelivery {
		return "", fmt.Errorf("%w: message of %d bytes is over the wire limit of %d", ErrTooLarge, n, maxDelivery)
	}
	ds, seq, wait, err := h.register()
	if err != nil {
		return "", err
	}
	ds.sendMu.Lock()
	err = ds.stream.Send(&pb.Delivery{Seq: seq, Message: pm})
	ds.sendMu.Unlock()
	if err != nil {
		h.fail(ds, err)
	}
	select {
	case ack := <-wait:
		if ack.Error != nil {
			return "", fromprotoError(ack.Error)
		}
		return ack.Id, nil
	case <-ctx.Done():
		h.mu.Lock()
		delete(ds.pending, seq)
		h.mu.Unlock()
		return "", fmt.Errorf("%w: %v", ErrUnavailable, ctx.Err())
	}
}

func (h *hostClient) register() (*deliverStream, uint64, chan *pb.Ack, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ctx.Err() != nil {
		return nil, 0, nil, fmt.Errorf("%w: the plugin is stopping", ErrUnavailable)
	}
	if h.cur == nil {
		st, err := h.client.Deliver(h.ctx)
		if err != nil {
			return nil, 0, nil, fmt.Errorf("%w: open the delivery stream: %v", ErrUnavailable, err)
		}
		h.cur = &deliverStream{stream: st, pending: map[uint64]chan *pb.Ack{}}
		go h.receive(h.cur)
	}
	h.seq++
	wait := make(chan *pb.Ack, 1)
	h.cur.pending[h.seq] = wait
	return h.cur, h.seq, wait, nil
}

func (h *hostClient) receive(ds *deliverStream) {
	for {
		ack, err := ds.stream.Recv()
		if err != nil {
			h.fail(ds, err)
			return
		}
		h.mu.Lock()
		wait := ds.pending[ack.Seq]
		delete(ds.pending, ack.Seq)
		h.mu.Unlock()
		if wait != nil {
			wait <- ack
		}
	}
}

// fail ends ds: every delivery still waiting on it gets ErrUnavailable.
func (h *hostClient) fail(ds *deliverStream, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if ds.broken != nil {
		return
	}
	ds.broken = err
	if h.cur == ds {
		h.cur = nil
	}
	for seq, wait := range ds.pending {
		wait <- &pb.Ack{Seq: seq, Error: &pb.Error{Reason: pb.Reason_REASON_UNAVAILABLE, Code: 14,
			Message: "connection to the hub lost before the ack: " + err.Error()}}
		delete(ds.pending, seq)
	}
}

func (h *hostClient) UpdateStatus(ctx context.Context, providerID, status, detail string) error {
	if !utf8.ValidString(providerID) || !utf8.ValidString(status) || !utf8.ValidString(detail) {
		return fmt.Errorf("%w: status update with invalid UTF-8", ErrInvalid)
	}
	ack, err := h.client.UpdateStatus(ctx, &pb.StatusUpdate{ProviderId: providerID, Status: status, Detail: detail})
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	if ack.Error != "" {
		return errors.New(ack.Error)
	}
	return nil
}

func (h *hostClient) close() {
	h.cancel()
	h.mu.Lock()
	if h.cur != nil {
		h.cur.sendMu.Lock()
		_ = h.cur.stream.CloseSend()
		h.cur.sendMu.Unlock()
	}
	h.mu.Unlock()
	_ = h.conn.Close()
}
