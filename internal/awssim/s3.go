package awssim

import (
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

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

func (s3 *s3State) seed(s *Sim, names, audit []string, keyARN string) {
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
	c.service, c.signing = "s3", "s3"
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
	b := c.sim.s3.buckets[c.resource]
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
	c.w.Header().Set("X-Amz-Bucket-Region", c.sim.region)
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
