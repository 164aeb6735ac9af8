package awsclient

import (
	"bytes"
	"io"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// maxMemoryBody is the largest request body sent from memory (see
// memoryBodies). Probe and compliance requests are small JSON or XML
// documents; anything larger goes to net/http as the SDK built it.
const maxMemoryBody = 64 << 10

// memoryBodies hands net/http small request bodies as an in-memory reader
// instead of the SDK's stream wrapper. Same bytes on the wire, two effects:
//
//   - The SDK closes its wrapper as soon as the response headers are back,
//     while net/http's write loop may still be checking the body for bytes
//     beyond Content-Length; the closed wrapper's WriteTo then returns
//     io.EOF, which net/http takes as a failed write and so discards the
//     keep-alive connection. Measured against the simulator, 4–13 % of
//     probes opened a new connection (connect, two goroutines, close,
//     TIME_WAIT) because of it; with the body in memory the check reads
//     socmond's own reader and the connection is reused.
//   - Worse, when the answer is still arriving (a slow or large body), the
//     connection is closed under it: the call fails with "deserialization
//     failed … use of closed network connection" after a 200, and a slow
//     but answering service was reported as a server error. It needs the
//     write loop to lose the CPU at that moment, so it showed on loaded
//     hosts (the chaos soak's trickle mismatches; aws-sdk-go-v2 #1825 and
//     #2737, seen in production with DynamoDB).
//   - net/http sends headers and an in-memory body in one write; any other
//     body costs a second write (a second TCP segment) per request.
//
// The request is copied, not changed: the SDK still holds and closes the
// original, whose body is read here and closed as net/http would have.
type memoryBodies struct {
	inner aws.HTTPClient
}

func (c memoryBodies) Do(req *http.Request) (*http.Response, error) {
	if req.Body == nil || req.Body == http.NoBody || req.ContentLength <= 0 || req.ContentLength > maxMemoryBody {
		return c.inner.Do(req)
	}
	buf := make([]byte, req.ContentLength)
	n, err := io.ReadFull(req.Body, buf)
	_ = req.Body.Close() // net/http would close it after writing; its error is not the request's
	var body io.Reader = bytes.NewReader(buf)
	if err != nil {
		// A body shorter than its Content-Length: let net/http see what it
		// would have seen (the bytes, then the error) and report it.
		body = io.MultiReader(bytes.NewReader(buf[:n]), errReader{err})
	}
	sent := new(http.Request)
	*sent = *req
	sent.Body = io.NopCloser(body)
	resp, err := c.inner.Do(sent)
	if resp != nil {
		resp.Request = req
	}
	return resp, err
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }
