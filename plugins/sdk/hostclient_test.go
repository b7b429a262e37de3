package sdk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

	pb "github.com/switchboard-hub/switchboard/plugins/internal/proto"
)

// fakeHost is a Host service in this process, so the SDK's delivery
// client runs under the race detector (inside a plugin binary it does not).
// It acks each delivery from its own goroutine, out of order; hold blocks
// the acks of texts it names until released.
type fakeHost struct {
	pb.UnimplementedHostServer
	mu      sync.Mutex
	got     map[string]int
	hold    string
	held    chan struct{} // one send per held delivery
	release chan struct{}
}

func (f *fakeHost) Deliver(stream pb.Host_DeliverServer) error {
	var sendMu sync.Mutex
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		d, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			ack := &pb.Ack{Seq: d.Seq}
			text := string(d.Message.Text)
			f.mu.Lock()
			hold := f.hold != "" && text == f.hold
			f.mu.Unlock()
			if hold {
				f.held <- struct{}{}
				select {
				case <-f.release:
				case <-stream.Context().Done():
					return
				}
			}
			if text == "refuse" {
				ack.Error = &pb.Error{Reason: pb.Reason_REASON_INVALID, Code: 3, Message: "invalid message: refused"}
			} else {
				f.mu.Lock()
				f.got[string(d.Message.ProviderId)]++
				f.mu.Unlock()
				ack.Id = "m_" + string(d.Message.ProviderId)
			}
			sendMu.Lock()
			_ = stream.Send(ack)
			sendMu.Unlock()
		}()
	}
}

func (f *fakeHost) UpdateStatus(ctx context.Context, u *pb.StatusUpdate) (*pb.StatusAck, error) {
	return &pb.StatusAck{}, nil
}

type bufHost struct {
	host   *fakeHost
	srv    *grpc.Server
	client *hostClient
}

func startBufHost(t *testing.T) *bufHost {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	f := &fakeHost{got: map[string]int{}, held: make(chan struct{}, 64), release: make(chan struct{})}
	srv := grpc.NewServer()
	pb.RegisterHostServer(srv, f)
	go srv.Serve(lis)
	conn, err := grpc.NewClient("passthrough:///bufnet", grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
		return lis.DialContext(ctx)
	}), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	b := &bufHost{host: f, srv: srv, client: newHostClient(conn)}
	t.Cleanup(func() { b.client.close(); srv.Stop() })
	return b
}

func msg(key, text string) Message {
	return Message{ProviderID: key, Identities: []Identity{{Type: "k", Value: "v"}}, Text: text}
}

func TestHostClientConcurrentDeliveries(t *testing.T) {
	b := startBufHost(t)
	const n = 200
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := fmt.Sprintf("p%d", i)
			id, err := b.client.Deliver(t.Context(), msg(key, "hello"))
			if err == nil && id != "m_"+key {
				err = fmt.Errorf("%s acked as %s (acks matched to the wrong caller)", key, id)
			}
			if err != nil {
				errs <- err
			}
		}()
	}
	// Refusals come back to their caller only, as ErrInvalid.
	if _, err := b.client.Deliver(t.Context(), msg("bad", "refuse")); !errors.Is(err, ErrInvalid) || Retryable(err) {
		t.Errorf("refused delivery: %v", err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if len(b.host.got) != n {
		t.Fatalf("the host got %d messages, want %d", len(b.host.got), n)
	}
}

// A broken stream fails every delivery waiting on it with ErrUnavailable
// (the plugin redelivers them); the next Deliver opens a new stream.
func TestHostClientBrokenStreamFailsPendingAndReconnects(t *testing.T) {
	b := startBufHost(t)
	b.host.mu.Lock()
	b.host.hold = "held"
	b.host.mu.Unlock()
	const n = 5
	errs := make(chan error, n)
	for i := range n {
		go func() {
			_, err := b.client.Deliver(t.Context(), msg(fmt.Sprintf("h%d", i), "held"))
			errs <- err
		}()
	}
	for range n {
		<-b.host.held
	}
	// Break the stream under the waiting deliveries.
	b.client.mu.Lock()
	ds := b.client.cur
	b.client.mu.Unlock()
	b.client.fail(ds, errors.New("stream reset"))
	for range n {
		if err := <-errs; !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "connection to the hub lost") {
			t.Fatalf("pending delivery: %v", err)
		}
	}
	close(b.host.release)
	b.host.mu.Lock()
	b.host.hold = ""
	b.host.mu.Unlock()
	if id, err := b.client.Deliver(t.Context(), msg("after", "ok")); err != nil || id != "m_after" {
		t.Fatalf("after the break: %q %v", id, err)
	}
}

func TestHostClientDeliverHonoursContext(t *testing.T) {
	b := startBufHost(t)
	b.host.mu.Lock()
	b.host.hold = "held"
	b.host.mu.Unlock()
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	_, err := b.client.Deliver(ctx, msg("slow", "held"))
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("deliver past its deadline: %v", err)
	}
	close(b.host.release)
	b.client.mu.Lock()
	pending := len(b.client.cur.pending)
	b.client.mu.Unlock()
	if pending != 0 {
		t.Fatalf("%d deliveries left pending", pending)
	}
	if err := b.client.UpdateStatus(t.Context(), "p\xff", "sent", ""); !errors.Is(err, ErrInvalid) {
		t.Fatalf("status update with invalid UTF-8: %v", err)
	}
}
