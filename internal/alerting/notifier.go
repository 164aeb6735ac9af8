package alerting

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
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
// delays nor loses the others' alerts. SetAlertmanagers changes the set
// while it runs (config reload).
type Notifier struct {
	out *outcomes
	log zerolog.Logger

	// mu guards queues and runCtx. Enqueue holds it for reading while it
	// fills the queues, so once SetAlertmanagers has swapped the set no
	// notification can land in a removed queue.
	mu     sync.RWMutex
	queues queueSet
	runCtx context.Context // Run's context while Run runs, else nil
	wg     sync.WaitGroup  // the queues' goroutines
}

// amQueue is the queue and client of one Alertmanager.
type amQueue struct {
	key     amKey
	url     string // .../api/v2/alerts
	auth    func(*http.Request)
	mu      sync.Mutex
	client  *http.Client // under mu: a reload rebuilds it (TLS files re-read)
	cap     int          // under mu: a reload may change it
	items   []Notification
	wake    chan struct{}
	out     *outcomes
	log     zerolog.Logger
	attempt int
	// stop ends the queue's goroutine and done is closed when it has
	// ended; both nil until Run starts it.
	stop context.CancelFunc
	done chan struct{}
}

// amKey is everything that makes an Alertmanager's queue: a reload that
// leaves it unchanged keeps the queue, its pending notifications and its
// backoff.
type amKey struct {
	url      string
	timeout  time.Duration
	basic    bool
	user     string
	password config.Secret
	bearer   config.Secret
	tls      config.TLS
}

// amTarget is one Alertmanager of a new config, its client built.
type amTarget struct {
	key    amKey
	url    string // as configured, for logs (credentials removed)
	client *http.Client
	auth   func(*http.Request)
}

// Alertmanagers is the Alertmanager settings of a config, built and
// checked by BuildAlertmanagers and applied by SetAlertmanagers.
type Alertmanagers struct {
	targets  []amTarget
	capacity int
}

// BuildAlertmanagers builds the clients of a's Alertmanagers. TLS files are
// read here, so a bad file is an error at start or when a reload is
// checked, not a silent delivery failure; nothing running changes.
func BuildAlertmanagers(a *config.Alerting) (*Alertmanagers, error) {
	s := &Alertmanagers{capacity: a.QueueCapacity}
	if s.capacity < 1 {
		s.capacity = config.DefaultQueueCapacity
	}
	for _, am := range a.Alertmanagers {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tc, err := tlsConfig(am.TLS)
		if err != nil {
			return nil, fmt.Errorf("alerting: alertmanager %s: %w", redactURL(am.URL), err)
		}
		tr.TLSClientConfig = tc
		timeout := am.Timeout.D()
		if timeout <= 0 {
			timeout = config.DefaultAMTimeout
		}
		key := amKey{url: am.URL, timeout: timeout, bearer: am.BearerToken, tls: am.TLS}
		if am.BasicAuth != nil {
			key.basic, key.user, key.password = true, am.BasicAuth.Username, am.BasicAuth.Password
		}
		s.targets = append(s.targets, amTarget{
			key:    key,
			url:    redactURL(am.URL),
			client: &http.Client{Transport: tr, Timeout: timeout},
			auth:   authFunc(am),
		})
	}
	return s, nil
}

// NewNotifier returns a Notifier delivering to a's Alertmanagers, which may
// be none (a reload can add them).
func NewNotifier(a *config.Alerting, log zerolog.Logger) (*Notifier, error) {
	s, err := BuildAlertmanagers(a)
	if err != nil {
		return nil, err
	}
	n := &Notifier{out: &outcomes{}, log: log}
	n.SetAlertmanagers(s)
	return n, nil
}

// SetAlertmanagers makes s the Notifier's Alertmanagers (calls must not
// overlap; reloads are serialised). One whose settings did not change
// keeps its queue, pending notifications, backoff and goroutine; it takes
// s's client, built from TLS files read anew (a rotated CA or client
// certificate), and s's queue capacity (a queue above it drops its oldest
// as new notifications arrive). A removed one's goroutine is stopped and
// waited for, so it posts nothing once this returns; what it still held is
// dropped, counted and logged. An added or changed one starts with an
// empty queue: the returned Sink reaches only those, for the caller to
// send them the alerts already firing (Engine.SendFiring).
func (n *Notifier) SetAlertmanagers(s *Alertmanagers) Sink {
	n.mu.Lock()
	old := n.queues
	var next, added queueSet
	for _, t := range s.targets {
		var q *amQueue
		for i, o := range old {
			if o != nil && o.key == t.key {
				q, old[i] = o, nil
				break
			}
		}
		if q == nil {
			q = &amQueue{
				key: t.key, url: strings.TrimRight(t.key.url, "/") + "/api/v2/alerts", client: t.client, auth: t.auth,
				wake: make(chan struct{}, 1), out: n.out, log: n.log.With().Str("alertmanager", t.url).Logger(),
			}
			added = append(added, q)
			if n.runCtx != nil {
				n.start(q)
			}
		}
		q.mu.Lock()
		if q.client != t.client {
			q.client.CloseIdleConnections()
			q.client = t.client
		}
		q.cap = s.capacity
		q.mu.Unlock()
		next = append(next, q)
	}
	n.queues = next
	n.mu.Unlock()
	for _, q := range old {
		if q != nil {
			q.remove()
		}
	}
	return added
}

// start runs q's goroutine under Run's context. n.mu is held.
func (n *Notifier) start(q *amQueue) {
	ctx, stop := context.WithCancel(n.runCtx)
	q.stop, q.done = stop, make(chan struct{})
	n.wg.Go(func() {
		defer close(q.done)
		q.run(ctx)
	})
}

// remove stops a queue no longer configured, waits for its goroutine (a
// POST in flight is cancelled) and drops what it held.
func (q *amQueue) remove() {
	if q.stop != nil {
		q.stop()
		<-q.done
	}
	q.mu.Lock()
	dropped := len(q.items)
	q.items = nil
	q.client.CloseIdleConnections()
	q.mu.Unlock()
	if dropped == 0 {
		q.log.Info().Msg("alertmanager removed from the config")
		return
	}
	q.out.mu.Lock()
	q.out.dropped += float64(dropped)
	q.out.mu.Unlock()
	q.log.Warn().Int("dropped", dropped).Msg("alertmanager removed from the config: its pending notifications were dropped")
}

// redactURL is u with any password replaced, for logs and errors.
func redactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "<invalid URL>"
	}
	return p.Redacted()
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
	n.mu.RLock()
	defer n.mu.RUnlock()
	n.queues.Enqueue(ns)
}

// queueSet is some of a Notifier's queues: all of them, or those a reload
// added (SetAlertmanagers).
type queueSet []*amQueue

func (s queueSet) Enqueue(ns []Notification) {
	for _, q := range s {
		q.enqueue(ns)
	}
}

func (s queueSet) QueueLength() int {
	total := 0
	for _, q := range s {
		q.mu.Lock()
		total += len(q.items)
		q.mu.Unlock()
	}
	return total
}

func (q *amQueue) enqueue(ns []Notification) {
	dropped := 0
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
		// A loop, not one drop: a reload may have lowered the capacity.
		for len(q.items) >= q.cap {
			q.items = q.items[1:]
			dropped++
		}
		q.items = append(q.items, nt)
	}
	q.mu.Unlock()
	if dropped > 0 {
		q.out.mu.Lock()
		q.out.dropped += float64(dropped)
		q.out.mu.Unlock()
		q.log.Warn().Int("dropped", dropped).Msg("alert queue full: dropped the oldest notifications")
	}
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// QueueLength is the number of notifications waiting, over all
// Alertmanagers.
func (n *Notifier) QueueLength() int {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.queues.QueueLength()
}

// Alertmanagers is how many Alertmanagers socmond sends to.
func (n *Notifier) Alertmanagers() int {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return len(n.queues)
}

// Run delivers until ctx ends, to the Alertmanagers configured now and to
// those SetAlertmanagers adds meanwhile; it returns once every queue's
// goroutine has ended.
func (n *Notifier) Run(ctx context.Context) {
	n.mu.Lock()
	n.runCtx = ctx
	for _, q := range n.queues {
		n.start(q)
	}
	n.mu.Unlock()
	<-ctx.Done()
	n.mu.Lock()
	n.runCtx = nil
	n.mu.Unlock()
	n.wg.Wait()
}

// Flush makes one last delivery attempt of everything queued, bounded by
// ctx (shutdown, after Run has returned).
func (n *Notifier) Flush(ctx context.Context) {
	n.mu.RLock()
	queues := n.queues
	n.mu.RUnlock()
	for _, q := range queues {
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
// and may succeed later (the batch stays queued); empty when there was
// nothing to send. A batch Alertmanager refuses for good is dropped and ok
// is true: holding it at the head would block every later alert.
func (q *amQueue) deliverOne(ctx context.Context) (ok, empty bool) {
	q.mu.Lock()
	n := min(len(q.items), maxBatch)
	batch := append([]Notification(nil), q.items[:n]...)
	q.mu.Unlock()
	if n == 0 {
		return true, true
	}
	err := q.post(ctx, batch)
	var refused *refusedError
	permanent := errors.As(err, &refused) && refused.permanent()
	q.out.mu.Lock()
	if err != nil {
		q.out.failure += float64(n)
	} else {
		q.out.success += float64(n)
	}
	if permanent {
		q.out.dropped += float64(n)
	}
	q.out.mu.Unlock()
	switch {
	case permanent:
		q.log.Error().Int("status", refused.status).Str("response", refused.body).Int("dropped", n).
			Msg("alertmanager refused the alerts and will never accept them: dropped")
	case err != nil:
		q.attempt++
		if ctx.Err() == nil {
			q.log.Warn().Err(err).Int("alerts", n).Int("attempt", q.attempt).Msg("alertmanager delivery failed; will retry")
		}
		return false, false
	}
	q.attempt = 0
	q.removeSent(batch)
	return true, false
}

// removeSent removes batch from the queue once it has left it (delivered
// or dropped); entries replaced in the meantime (same key, newer state)
// stay and go in the next batch.
func (q *amQueue) removeSent(batch []Notification) {
	q.mu.Lock()
	defer q.mu.Unlock()
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
}

// refusedError is an Alertmanager's non-2xx answer.
type refusedError struct {
	url    string // redacted
	status int
	text   string // the status line
	body   string // the start of the answer, redacted
}

func (e *refusedError) Error() string {
	return fmt.Sprintf("POST %s: %s: %s", e.url, e.text, e.body)
}

// permanent: a 4xx says the batch itself is wrong (Alertmanager answers
// 400 to an alert it cannot validate, whatever the attempt), except 408
// and 429, which ask for the same request later.
func (e *refusedError) permanent() bool {
	return e.status/100 == 4 && e.status != http.StatusRequestTimeout && e.status != http.StatusTooManyRequests
}

// logExcerpt bounds how much of a refusal's answer is logged.
const logExcerpt = 200

// redact shortens an Alertmanager's answer for logs and blanks any
// of q's credentials it echoes (a proxy in front of Alertmanager may quote
// the request).
func (q *amQueue) redact(body string) string {
	for _, secret := range []string{string(q.key.password), string(q.key.bearer)} {
		if secret != "" {
			body = strings.ReplaceAll(body, secret, "<redacted>")
		}
	}
	if r := []rune(body); len(r) > logExcerpt {
		body = string(r[:logExcerpt]) + "…"
	}
	return body
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
	q.mu.Lock()
	client := q.client
	q.mu.Unlock()
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return &refusedError{url: redactURL(q.url), status: resp.StatusCode, text: resp.Status, body: q.redact(strings.TrimSpace(string(msg)))}
	}
	return nil
}
