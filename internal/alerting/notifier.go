package alerting

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/socmond/socmond/internal/config"
)

// Notification is one alert as Alertmanager's API v2 takes it
// (postableAlert). A plain struct: the alertmanager module would bring a
// large dependency tree for five fields.
type Notification struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	StartsAt     time.Time         `json:"startsAt,omitzero"`
	EndsAt       time.Time         `json:"endsAt,omitzero"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

// maxBatch is how many alerts go in one POST, as in Prometheus.
const maxBatch = 64

// Backoff bounds between delivery attempts to an Alertmanager that fails.
var (
	BackoffMin = 200 * time.Millisecond
	BackoffMax = 30 * time.Second
)

// Outcomes counts what happened to notifications; the Engine's collector
// exports them.
type outcomes struct {
	mu      sync.Mutex
	success float64
	failure float64
	dropped float64
}

// Notifier delivers notifications to every configured Alertmanager, each
// through its own bounded queue and goroutine, so one that is down neither
// delays nor loses the others' alerts.
type Notifier struct {
	queues []*amQueue
	out    *outcomes
	log    zerolog.Logger
}

// amQueue is the queue and client of one Alertmanager.
type amQueue struct {
	url     string // .../api/v2/alerts
	client  *http.Client
	auth    func(*http.Request)
	cap     int
	mu      sync.Mutex
	items   []Notification
	wake    chan struct{}
	out     *outcomes
	log     zerolog.Logger
	attempt int
}

// NewNotifier builds the clients (TLS files are read here, so a bad file
// is a start-up error, not a silent delivery failure).
func NewNotifier(a *config.Alerting, log zerolog.Logger) (*Notifier, error) {
	n := &Notifier{out: &outcomes{}, log: log}
	capacity := a.QueueCapacity
	if capacity < 1 {
		capacity = config.DefaultQueueCapacity
	}
	for _, am := range a.Alertmanagers {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tc, err := tlsConfig(am.TLS)
		if err != nil {
			return nil, fmt.Errorf("alerting: alertmanager %s: %w", am.URL, err)
		}
		tr.TLSClientConfig = tc
		timeout := am.Timeout.D()
		if timeout <= 0 {
			timeout = config.DefaultAMTimeout
		}
		q := &amQueue{
			url:    strings.TrimRight(am.URL, "/") + "/api/v2/alerts",
			client: &http.Client{Transport: tr, Timeout: timeout},
			auth:   authFunc(am),
			cap:    capacity,
			wake:   make(chan struct{}, 1),
			out:    n.out,
			log:    log.With().Str("alertmanager", am.URL).Logger(),
		}
		n.queues = append(n.queues, q)
	}
	return n, nil
}

func authFunc(am config.Alertmanager) func(*http.Request) {
	switch {
	case am.BasicAuth != nil:
		u, p := am.BasicAuth.Username, string(am.BasicAuth.Password)
		return func(r *http.Request) { r.SetBasicAuth(u, p) }
	case am.BearerToken != "":
		tok := string(am.BearerToken)
		return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
	}
	return func(*http.Request) {}
}

func tlsConfig(c config.TLS) (*tls.Config, error) {
	tc := &tls.Config{ServerName: c.ServerName, InsecureSkipVerify: c.InsecureSkipVerify, MinVersion: tls.VersionTLS12} //nolint:gosec // opt-in only
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: no PEM certificates", c.CAFile)
		}
		tc.RootCAs = pool
	}
	if c.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, err
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// Enqueue queues notifications for every Alertmanager. A notification for
// an alert already queued replaces it in place (the newer state wins, and
// a long outage does not fill the queue with resends of one alert); a full
// queue drops its oldest entry and counts it.
func (n *Notifier) Enqueue(ns []Notification) {
	for _, q := range n.queues {
		q.enqueue(ns)
	}
}

func (q *amQueue) enqueue(ns []Notification) {
	q.mu.Lock()
	for _, nt := range ns {
		key := Key(nt.Labels)
		replaced := false
		for i := range q.items {
			if Key(q.items[i].Labels) == key {
				q.items[i] = nt
				replaced = true
				break
			}
		}
		if replaced {
			continue
		}
		if len(q.items) >= q.cap {
			q.items = q.items[1:]
			q.out.mu.Lock()
			q.out.dropped++
			q.out.mu.Unlock()
			q.log.Warn().Msg("alert queue full: dropped the oldest notification")
		}
		q.items = append(q.items, nt)
	}
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// QueueLength is the number of notifications waiting, over all
// Alertmanagers.
func (n *Notifier) QueueLength() int {
	total := 0
	for _, q := range n.queues {
		q.mu.Lock()
		total += len(q.items)
		q.mu.Unlock()
	}
	return total
}

// Run delivers until ctx ends.
func (n *Notifier) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, q := range n.queues {
		wg.Go(func() { q.run(ctx) })
	}
	wg.Wait()
}

// Flush makes one last delivery attempt of everything queued, bounded by
// ctx (shutdown).
func (n *Notifier) Flush(ctx context.Context) {
	for _, q := range n.queues {
		for ctx.Err() == nil {
			ok, empty := q.deliverOne(ctx)
			if !ok || empty {
				break
			}
		}
	}
}

func (q *amQueue) run(ctx context.Context) {
	for {
		ok, empty := q.deliverOne(ctx)
		var wait <-chan time.Time
		switch {
		case !ok:
			wait = time.After(q.backoff())
		case empty:
			// idle: wait for Enqueue
		default:
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-q.wake:
			if !ok {
				// New alerts do not cut a backoff short: the
				// Alertmanager is still failing.
				select {
				case <-ctx.Done():
					return
				case <-wait:
				}
			}
		case <-wait:
		}
	}
}

// backoff doubles from BackoffMin up to BackoffMax per failed attempt.
func (q *amQueue) backoff() time.Duration {
	d := BackoffMin
	for i := 1; i < q.attempt && d < BackoffMax; i++ {
		d *= 2
	}
	return min(d, BackoffMax)
}

// deliverOne posts the head of the queue. ok is false when the POST failed
// (the batch stays queued); empty when there was nothing to send.
func (q *amQueue) deliverOne(ctx context.Context) (ok, empty bool) {
	q.mu.Lock()
	n := min(len(q.items), maxBatch)
	batch := append([]Notification(nil), q.items[:n]...)
	q.mu.Unlock()
	if n == 0 {
		return true, true
	}
	err := q.post(ctx, batch)
	q.out.mu.Lock()
	if err != nil {
		q.out.failure += float64(n)
	} else {
		q.out.success += float64(n)
	}
	q.out.mu.Unlock()
	if err != nil {
		q.attempt++
		if ctx.Err() == nil {
			q.log.Warn().Err(err).Int("alerts", n).Int("attempt", q.attempt).Msg("alertmanager delivery failed; will retry")
		}
		return false, false
	}
	q.attempt = 0
	q.mu.Lock()
	// Remove what was sent; entries replaced in the meantime (same key,
	// newer state) stay and go in the next batch.
	sent := map[string]Notification{}
	for _, b := range batch {
		sent[Key(b.Labels)] = b
	}
	kept := q.items[:0]
	for _, it := range q.items {
		if b, ok := sent[Key(it.Labels)]; ok && b.EndsAt.Equal(it.EndsAt) && b.StartsAt.Equal(it.StartsAt) {
			delete(sent, Key(it.Labels))
			continue
		}
		kept = append(kept, it)
	}
	q.items = kept
	q.mu.Unlock()
	return true, false
}

func (q *amQueue) post(ctx context.Context, batch []Notification) error {
	body, err := json.Marshal(batch)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, q.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "socmond")
	q.auth(req)
	resp, err := q.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("POST %s: %s: %s", q.url, resp.Status, strings.TrimSpace(string(msg)))
	}
	return nil
}
