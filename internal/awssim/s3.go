package awssim

import (
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// s3Service is S3 (restXml, path style): buckets and their objects. It
// answers every request no other service claims, since its paths are bucket
// names.
var s3Service = &service{
	name: "s3", signing: "s3",
	route: (*Sim).routeS3, fallback: true,
	throttle: "SlowDown",
	statuses: map[string]int{
		"NoSuchBucket":  404,
		"NoSuchKey":     404,
		"NoSuchVersion": 404,
		"NotFound":      404,
		"ServerSideEncryptionConfigurationNotFoundError": 404,
		"ObjectLockConfigurationNotFoundError":           404,
		"AccessDenied":                                   403,
		"Forbidden":                                      403,
		"InvalidAccessKeyId":                             403,
		"SignatureDoesNotMatch":                          403,
		"InvalidObjectState":                             403,
		"AllAccessDisabled":                              403,
		"SlowDown":                                       503,
		"ServiceUnavailable":                             503,
		"InternalError":                                  500,
		"NotImplemented":                                 501,
		"PermanentRedirect":                              301,
		"MovedPermanently":                               301,
		"BadDigest":                                      400,
		"InvalidDigest":                                  400,
		"InvalidRequest":                                 400,
		"InvalidArgument":                                400,
		"InvalidBucketName":                              400,
		"AuthorizationHeaderMalformed":                   400,
		"XAmzContentSHA256Mismatch":                      400,
		"RequestTimeout":                                 400,
		"ExpiredToken":                                   400,
		"KMS.NotFoundException":                          400,
		"BadRequest":                                     400,
		"MethodNotAllowed":                               405,
		"MissingContentLength":                           411,
		"PreconditionFailed":                             412,
		"OperationAborted":                               409,
		"BucketAlreadyOwnedByYou":                        409,
	},
	protocol: protocol{
		name:           "restXml",
		writeError:     s3WriteError,
		writeMalformed: s3WriteMalformed,
		authError:      s3AuthError,
		signed:         s3Signed,
	},
	settings: map[string]func(string) error{ // applied by bucketView
		"SSEAlgorithm":      oneOf("AES256", "aws:kms", "aws:kms:dsse", "NONE"),
		"KMSMasterKeyID":    func(string) error { return nil }, // "" = no key named (the aws/s3 key)
		"BucketKeyEnabled":  oneOf("true", "false"),
		"ObjectLockEnabled": oneOf("Enabled", "NONE"),
		"Mode":              oneOf("COMPLIANCE", "GOVERNANCE", "NONE"),
		"Years":             intIn(1, 100),
		"Days":              intIn(1, 36500),
	},
	// Buckets are encrypted with the first seeded KMS key; AuditBuckets
	// have Object Lock.
	seed: func(sc *scope, seed *Seed, names []string) any {
		st := &s3State{}
		st.seed(slices.Concat(seed.Buckets, names), seed.AuditBuckets, sc.kms().firstKeyARN())
		return st
	},
}

func (sc *scope) s3() *s3State { return sc.state["s3"].(*s3State) }

// s3WriteError answers e as an S3 XML error.
func s3WriteError(c *call, status int, e *apiError) {
	c.setS3RequestHeaders()
	if c.r.Method == http.MethodHead {
		// S3 never sends a body on HEAD; the SDK derives the code from the status text.
		c.w.WriteHeader(status)
		return
	}
	body := fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<Error><Code>%s</Code><Message>%s</Message>%s<RequestId>%s</RequestId><HostId>%s</HostId></Error>`,
		xmlEscape(e.Code), xmlEscape(e.Message), s3ErrorExtra(c), c.requestID, c.hostID())
	c.writeXML(status, "application/xml", []byte(body))
}

func s3ErrorExtra(c *call) string {
	if c.resource == "" {
		return ""
	}
	return "<BucketName>" + xmlEscape(c.resource) + "</BucketName>"
}

// s3WriteMalformed answers 200 with what the SDK cannot decode: HEAD and
// body-less operations get an undecodable header.
func s3WriteMalformed(c *call) {
	c.setS3RequestHeaders()
	h := c.w.Header()
	switch c.op {
	case "HeadBucket":
		h.Set("X-Amz-Access-Point-Alias", "maybe")
	case "HeadObject", "GetObject":
		h.Set("Last-Modified", "not a date")
	case "PutObject":
		h.Set("X-Amz-Server-Side-Encryption-Bucket-Key-Enabled", "maybe")
	case "DeleteObject":
		h.Set("X-Amz-Delete-Marker", "maybe")
	default:
		c.writeXML(http.StatusOK, "application/xml", []byte(`<?xml version="1.0" encoding="UTF-8"?><Broken><Rule>`))
		return
	}
	c.w.WriteHeader(http.StatusOK)
}

// s3AuthError is S3's answer to a signature it cannot accept.
func s3AuthError(c *call, kind authKind, msg string) *apiError {
	switch kind {
	case authMissing:
		return &apiError{Code: "AccessDenied", Message: "Access Denied", Status: http.StatusForbidden}
	case authRegion:
		c.w.Header().Set("X-Amz-Bucket-Region", c.sim.def.region)
		msg = "The authorization header is malformed; the region '" + msg + "' is wrong; expecting '" + c.sim.def.region + "'"
	case authExpired:
		return &apiError{Code: "ExpiredToken", Message: "The provided token has expired.", Status: http.StatusBadRequest}
	}
	return &apiError{Code: "AuthorizationHeaderMalformed", Message: msg, Status: http.StatusBadRequest}
}

// s3Signed requires the payload hash S3's SigV4 signs.
func s3Signed(c *call) *apiError {
	if c.r.Header.Get("X-Amz-Content-Sha256") == "" {
		return &apiError{Code: "InvalidRequest", Message: "Missing required header for this request: x-amz-content-sha256", Status: http.StatusBadRequest}
	}
	return nil
}

// s3State holds the S3 buckets and their objects.
type s3State struct {
	buckets map[string]*bucket
}

type bucket struct {
	name      string
	created   time.Time
	sseAlg    string // default encryption: aws:kms or AES256
	sseKeyARN string
	bucketKey bool
	lock      bool                        // Object Lock enabled (COMPLIANCE, 7 years default retention); implies versioning
	objects   map[string][]*objectVersion // oldest first

	// Default retention, set by bucketView (overrides.go): COMPLIANCE
	// 7 years for a locked bucket unless a fault says otherwise.
	lockMode            string
	lockYears, lockDays int
}

type objectVersion struct {
	versionID    string // "null" in unversioned buckets
	deleteMarker bool
	data         []byte
	contentType  string
	etag         string
	lastModified time.Time
	sse          string
	kmsKeyARN    string
	bucketKey    bool
	checksums    map[string]string // algorithm (lower case, e.g. "sha256") → base64 value
	lockMode     string
	retainUntil  time.Time
	legalHold    bool
	meta         map[string]string // x-amz-meta-* headers as sent
}

func (s3 *s3State) seed(names, audit []string, keyARN string) {
	s3.buckets = map[string]*bucket{}
	add := func(n string, lock bool) {
		b := s3.buckets[n]
		if b == nil {
			b = &bucket{name: n, created: time.Now().Add(-24 * time.Hour), sseAlg: "AES256", objects: map[string][]*objectVersion{}}
			if keyARN != "" {
				b.sseAlg, b.sseKeyARN, b.bucketKey = "aws:kms", keyARN, true
			}
			s3.buckets[n] = b
		}
		b.lock = b.lock || lock
	}
	for _, n := range names {
		add(n, false)
	}
	for _, n := range audit {
		add(n, true)
	}
}

var bucketNameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

// routeS3 maps a path-style request to its operation.
func (s *Sim) routeS3(c *call) *apiError {
	c.requestID = strings.ToUpper(strings.ReplaceAll(c.requestID, "-", "")[:16])
	path := strings.TrimPrefix(c.r.URL.Path, "/")
	name, key, hasKey := strings.Cut(path, "/")
	c.resource = name
	q := c.r.URL.Query()
	m := c.r.Method
	switch {
	case name == "":
		c.op = m + " /"
	case !hasKey && m == http.MethodHead:
		c.op, c.handler = "HeadBucket", s3HeadBucket
	case !hasKey && m == http.MethodGet && q.Has("encryption"):
		c.op, c.handler = "GetBucketEncryption", s3GetBucketEncryption
	case !hasKey && m == http.MethodGet && q.Has("object-lock"):
		c.op, c.handler = "GetObjectLockConfiguration", s3GetObjectLockConfiguration
	case !hasKey && m == http.MethodGet && q.Has("versioning"):
		c.op, c.handler = "GetBucketVersioning", s3GetBucketVersioning
	case !hasKey && m == http.MethodGet && q.Get("list-type") == "2":
		c.op, c.handler = "ListObjectsV2", s3ListObjectsV2 // s3list.go
	case hasKey && key != "" && m == http.MethodPut && c.r.Header.Get("X-Amz-Copy-Source") == "" && onlyQuery(q, "x-id"):
		c.op, c.handler = "PutObject", s3PutObject
	case hasKey && key != "" && m == http.MethodGet && onlyQuery(q, "versionId", "x-id"):
		c.op, c.handler = "GetObject", s3GetObject
	case hasKey && key != "" && m == http.MethodHead && onlyQuery(q, "versionId"):
		c.op, c.handler = "HeadObject", s3GetObject
	case hasKey && key != "" && m == http.MethodDelete && onlyQuery(q, "versionId", "x-id"):
		c.op, c.handler = "DeleteObject", s3DeleteObject
	default:
		c.op = m + " " + c.r.URL.Path
	}
	if c.handler == nil {
		return &apiError{Code: "NotImplemented", Message: "awssim does not implement " + c.op + " " + c.r.URL.RawQuery}
	}
	if !bucketNameRe.MatchString(name) {
		return errorf("InvalidBucketName", "The specified bucket is not valid.")
	}
	return nil
}

func onlyQuery(q map[string][]string, allowed ...string) bool {
	for k := range q {
		ok := false
		for _, a := range allowed {
			ok = ok || k == a
		}
		if !ok {
			return false
		}
	}
	return true
}

func (c *call) setS3RequestHeaders() {
	c.w.Header().Set("X-Amz-Request-Id", c.requestID)
	c.w.Header().Set("X-Amz-Id-2", c.hostID())
}

func (c *call) hostID() string {
	sum := md5.Sum([]byte(c.requestID))
	return base64.StdEncoding.EncodeToString(append(sum[:], sum[:]...))
}

// s3Bucket is the request's bucket as faults make it look (overrides.go);
// it shares the bucket's objects.
func (c *call) s3Bucket() (*bucket, *apiError) {
	b := c.sc.s3().buckets[c.resource]
	if b == nil {
		return nil, errorf("NoSuchBucket", "The specified bucket does not exist")
	}
	return c.bucketView(b), nil
}

func (c *call) s3XML(body string) {
	c.setS3RequestHeaders()
	c.writeXML(http.StatusOK, "application/xml", []byte(`<?xml version="1.0" encoding="UTF-8"?>`+"\n"+body))
}

func s3HeadBucket(c *call) {
	if _, e := c.s3Bucket(); e != nil {
		c.writeError(e)
		return
	}
	c.setS3RequestHeaders()
	c.w.Header().Set("X-Amz-Bucket-Region", c.sc.region)
	c.w.WriteHeader(http.StatusOK)
}

func s3GetBucketEncryption(c *call) {
	b, e := c.s3Bucket()
	if e != nil {
		c.writeError(e)
		return
	}
	if b.sseAlg == "" {
		c.writeError(errorf("ServerSideEncryptionConfigurationNotFoundError", "The server side encryption configuration was not found"))
		return
	}
	key := ""
	if b.sseKeyARN != "" {
		key = "<KMSMasterKeyID>" + xmlEscape(b.sseKeyARN) + "</KMSMasterKeyID>"
	}
	c.s3XML(fmt.Sprintf(`<ServerSideEncryptionConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>%s</SSEAlgorithm>%s</ApplyServerSideEncryptionByDefault><BucketKeyEnabled>%t</BucketKeyEnabled></Rule></ServerSideEncryptionConfiguration>`,
		b.sseAlg, key, b.bucketKey))
}

func s3GetObjectLockConfiguration(c *call) {
	b, e := c.s3Bucket()
	if e != nil {
		c.writeError(e)
		return
	}
	if !b.lock {
		c.writeError(errorf("ObjectLockConfigurationNotFoundError", "Object Lock configuration does not exist for this bucket"))
		return
	}
	rule := ""
	if b.lockMode != "" {
		period := fmt.Sprintf("<Years>%d</Years>", b.lockYears)
		if b.lockDays > 0 {
			period = fmt.Sprintf("<Days>%d</Days>", b.lockDays)
		}
		rule = "<Rule><DefaultRetention><Mode>" + b.lockMode + "</Mode>" + period + "</DefaultRetention></Rule>"
	}
	c.s3XML(`<ObjectLockConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><ObjectLockEnabled>Enabled</ObjectLockEnabled>` + rule + `</ObjectLockConfiguration>`)
}

func s3GetBucketVersioning(c *call) {
	b, e := c.s3Bucket()
	if e != nil {
		c.writeError(e)
		return
	}
	status := ""
	if b.lock {
		status = "<Status>Enabled</Status>"
	}
	c.s3XML(`<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` + status + `</VersioningConfiguration>`)
}

func (c *call) objectKey() string {
	_, key, _ := strings.Cut(strings.TrimPrefix(c.r.URL.Path, "/"), "/")
	return key
}

func newVersionID() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return strings.NewReplacer("+", "A", "/", "B").Replace(base64.StdEncoding.EncodeToString(b[:]))
}

// findVersion returns the version a GET/HEAD/DELETE names, or the latest.
func (b *bucket) findVersion(key, versionID string) (*objectVersion, *apiError) {
	versions := b.objects[key]
	if versionID != "" {
		for _, v := range versions {
			if v.versionID == versionID {
				return v, nil
			}
		}
		return nil, errorf("NoSuchVersion", "The specified version does not exist.")
	}
	if len(versions) == 0 {
		return nil, errorf("NoSuchKey", "The specified key does not exist.")
	}
	return versions[len(versions)-1], nil
}

func s3GetObject(c *call) {
	b, e := c.s3Bucket()
	if e != nil {
		c.writeError(e)
		return
	}
	versionID := c.r.URL.Query().Get("versionId")
	v, e := b.findVersion(c.objectKey(), versionID)
	if e != nil {
		c.writeError(e)
		return
	}
	h := c.w.Header()
	if v.deleteMarker {
		h.Set("X-Amz-Delete-Marker", "true")
		h.Set("X-Amz-Version-Id", v.versionID)
		if versionID != "" {
			c.writeError(&apiError{Code: "MethodNotAllowed", Message: "The specified method is not allowed against this resource."})
			return
		}
		c.writeError(errorf("NoSuchKey", "The specified key does not exist."))
		return
	}
	c.setS3RequestHeaders()
	h.Set("Content-Type", v.contentType)
	h.Set("Content-Length", strconv.Itoa(len(v.data)))
	h.Set("ETag", v.etag)
	h.Set("Last-Modified", v.lastModified.UTC().Format(http.TimeFormat))
	h.Set("Accept-Ranges", "bytes")
	if b.lock {
		h.Set("X-Amz-Version-Id", v.versionID)
	}
	setSSEHeaders(h, v)
	if v.lockMode != "" {
		h.Set("X-Amz-Object-Lock-Mode", v.lockMode)
		h.Set("X-Amz-Object-Lock-Retain-Until-Date", v.retainUntil.UTC().Format("2006-01-02T15:04:05.000Z"))
	}
	if v.legalHold {
		h.Set("X-Amz-Object-Lock-Legal-Hold", "ON")
	}
	// Like S3, checksums are returned only when the client asks for them.
	if strings.EqualFold(c.r.Header.Get("X-Amz-Checksum-Mode"), "ENABLED") && len(v.checksums) > 0 {
		for alg, val := range v.checksums {
			h.Set("X-Amz-Checksum-"+alg, val)
		}
		h.Set("X-Amz-Checksum-Type", "FULL_OBJECT")
	}
	for k, val := range v.meta {
		h.Set(k, val)
	}
	c.w.WriteHeader(http.StatusOK)
	if c.r.Method == http.MethodGet {
		_, _ = c.w.Write(v.data)
	}
}

func setSSEHeaders(h http.Header, v *objectVersion) {
	h.Set("X-Amz-Server-Side-Encryption", v.sse)
	if v.kmsKeyARN != "" {
		h.Set("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id", v.kmsKeyARN)
	}
	if v.bucketKey {
		h.Set("X-Amz-Server-Side-Encryption-Bucket-Key-Enabled", "true")
	}
}

func s3DeleteObject(c *call) {
	b, e := c.s3Bucket()
	if e != nil {
		c.writeError(e)
		return
	}
	key := c.objectKey()
	versionID := c.r.URL.Query().Get("versionId")
	h := c.w.Header()
	switch {
	case !b.lock: // unversioned: the object is simply gone
		delete(b.objects, key)
	case versionID == "":
		// Versioned: a delete marker hides the object but every version stays.
		m := &objectVersion{versionID: newVersionID(), deleteMarker: true, lastModified: time.Now()}
		b.objects[key] = append(b.objects[key], m)
		h.Set("X-Amz-Delete-Marker", "true")
		h.Set("X-Amz-Version-Id", m.versionID)
	default:
		versions := b.objects[key]
		for i, v := range versions {
			if v.versionID != versionID {
				continue
			}
			if e := deleteAllowed(c, v); e != nil {
				c.writeError(e)
				return
			}
			b.objects[key] = append(versions[:i:i], versions[i+1:]...)
			if len(b.objects[key]) == 0 {
				delete(b.objects, key)
			}
			if v.deleteMarker {
				h.Set("X-Amz-Delete-Marker", "true")
			}
			break
		}
		h.Set("X-Amz-Version-Id", versionID)
	}
	c.setS3RequestHeaders()
	c.w.WriteHeader(http.StatusNoContent)
}

// deleteAllowed enforces Object Lock: a COMPLIANCE version cannot be deleted
// by anyone before its retain-until date; GOVERNANCE only with the bypass header.
func deleteAllowed(c *call, v *objectVersion) *apiError {
	denied := &apiError{Code: "AccessDenied", Message: "Access Denied because object protected by object lock."}
	if v.legalHold {
		return denied
	}
	if v.lockMode == "" || !time.Now().Before(v.retainUntil) {
		return nil
	}
	if v.lockMode == "GOVERNANCE" && strings.EqualFold(c.r.Header.Get("X-Amz-Bypass-Governance-Retention"), "true") {
		return nil
	}
	return denied
}

// sortedKeys is used to keep listings and headers deterministic.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func etagOf(data []byte) string {
	sum := md5.Sum(data)
	return `"` + hex.EncodeToString(sum[:]) + `"`
}

// bucketView is b with the call's overrides applied. It shares b's objects,
// so writes through it land in the bucket.
func (c *call) bucketView(b *bucket) *bucket {
	v := *b
	if v.lockMode == "" && v.lock {
		v.lockMode, v.lockYears = "COMPLIANCE", 7
	}
	if len(c.set) == 0 {
		return &v
	}
	if a, ok := c.set["SSEAlgorithm"]; ok {
		v.sseAlg = a
		if a == "NONE" {
			v.sseAlg, v.sseKeyARN = "", ""
		} else if a == "AES256" {
			v.sseKeyARN = ""
		}
	}
	if k, ok := c.set["KMSMasterKeyID"]; ok {
		v.sseKeyARN = k
	}
	if bk, ok := c.set["BucketKeyEnabled"]; ok {
		v.bucketKey = bk == "true"
	}
	if l, ok := c.set["ObjectLockEnabled"]; ok {
		v.lock = l == "Enabled"
		if v.lock && v.lockMode == "" {
			v.lockMode, v.lockYears = "COMPLIANCE", 7
		}
	}
	if m, ok := c.set["Mode"]; ok {
		v.lockMode = m
		if m == "NONE" {
			v.lockMode = ""
		}
	}
	if y, ok := c.set["Years"]; ok {
		v.lockYears, _ = strconv.Atoi(y)
		v.lockDays = 0
	}
	if d, ok := c.set["Days"]; ok {
		v.lockDays, _ = strconv.Atoi(d)
		v.lockYears = 0
	}
	return &v
}
