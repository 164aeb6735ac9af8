package awsclient

import (
	"bytes"
	"fmt"
	"io"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// maxBufferedBody bounds the request bodies ownBodies copies. Probe and
// compliance calls send a few hundred bytes; the canary and evidence writes
// send small artifacts. Anything larger is passed through untouched.
const maxBufferedBody = 8 << 20

// ownBodies gives net/http a request body that only net/http reads and
// closes.
//
// Why: smithy-go hands net/http a body wrapper that the SDK closes as soon
// as Client.Do returns, and whose WriteTo answers io.EOF once closed. For a
// body that is not a plain in-memory reader, net/http flushes the headers
// first and copies the body straight to the socket; the server can answer
// before net/http's write loop has finished with the body. If the SDK closes
// the wrapper in that gap, the write loop's final read of the body gets
// io.EOF as an error, and net/http closes the connection under the response
// that is still being read: the call fails with "deserialization failed …
// use of closed network connection" after a 200 (aws/aws-sdk-go-v2#1825,
// #2737). It needs the write loop to be descheduled at the wrong moment, so
// it shows on loaded hosts and with slow response bodies, and socmond would
// report a healthy, slow service as a server error. A *bytes.Reader of
// socmond's own is never closed by the SDK, and net/http, knowing it is in
// memory, writes headers and body with one flush.
type ownBodies struct{ inner aws.HTTPClient }

func (c ownBodies) Do(req *http.Request) (*http.Response, error) {
	if req.Body == nil || req.Body == http.NoBody || req.ContentLength <= 0 || req.ContentLength > maxBufferedBody {
		return c.inner.Do(req)
	}
	body := make([]byte, req.ContentLength)
	_, err := io.ReadFull(req.Body, body)
	_ = req.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("read request body: %w", err)
	}
	out := *req // shallow: the SDK's request is not changed
	out.Body = io.NopCloser(bytes.NewReader(body))
	return c.inner.Do(&out)
}
