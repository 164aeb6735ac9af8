package awssim

import (
	"bufio"
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"hash/crc64"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

var crc64NVME = crc64.MakeTable(0x9a6c9329ac4bc9b5)

// checksumFuncs computes each flexible-checksum algorithm S3 accepts, encoded
// as S3 sends it (base64 of the big-endian digest).
var checksumFuncs = map[string]func([]byte) []byte{
	"crc32": func(b []byte) []byte { return binary.BigEndian.AppendUint32(nil, crc32.ChecksumIEEE(b)) },
	"crc32c": func(b []byte) []byte {
		return binary.BigEndian.AppendUint32(nil, crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli)))
	},
	"crc64nvme": func(b []byte) []byte { return binary.BigEndian.AppendUint64(nil, crc64.Checksum(b, crc64NVME)) },
	"sha1":      func(b []byte) []byte { s := sha1.Sum(b); return s[:] },
	"sha256":    func(b []byte) []byte { s := sha256.Sum256(b); return s[:] },
}

var hex64Re = regexp.MustCompile(`^[0-9a-f]{64}$`)

// readPayload returns the object bytes and any trailing checksums, undoing the
// aws-chunked encoding the SDK uses for streamed uploads.
func readPayload(c *call) ([]byte, map[string]string, *apiError) {
	h := c.r.Header
	sha := h.Get("X-Amz-Content-Sha256")
	if !strings.HasPrefix(sha, "STREAMING-") && !strings.Contains(h.Get("Content-Encoding"), "aws-chunked") {
		if hex64Re.MatchString(sha) {
			sum := sha256.Sum256(c.body)
			if hex.EncodeToString(sum[:]) != sha {
				return nil, nil, errorf("XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed.")
			}
		}
		return c.body, nil, nil
	}
	data, trailers, err := decodeChunked(c.body)
	if err != nil {
		return nil, nil, errorf("IncompleteBody", "aws-chunked body: %v", err)
	}
	if dl := h.Get("X-Amz-Decoded-Content-Length"); dl != "" && dl != strconv.Itoa(len(data)) {
		return nil, nil, errorf("IncompleteBody", "You did not provide the number of bytes specified by the x-amz-decoded-content-length header.")
	}
	return data, trailers, nil
}

func decodeChunked(body []byte) ([]byte, map[string]string, error) {
	r := bufio.NewReader(bytes.NewReader(body))
	var data []byte
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return nil, nil, fmt.Errorf("chunk header: %w", err)
		}
		sizeHex, _, _ := strings.Cut(strings.TrimSpace(line), ";")
		size, err := strconv.ParseInt(sizeHex, 16, 64)
		if err != nil || size < 0 || size > int64(len(body)) {
			return nil, nil, fmt.Errorf("bad chunk size %q", sizeHex)
		}
		if size == 0 {
			break
		}
		chunk := make([]byte, size)
		if _, err := io.ReadFull(r, chunk); err != nil {
			return nil, nil, fmt.Errorf("chunk data: %w", err)
		}
		data = append(data, chunk...)
		if crlf, err := r.ReadString('\n'); err != nil || strings.TrimSpace(crlf) != "" {
			return nil, nil, fmt.Errorf("chunk not terminated by CRLF")
		}
	}
	trailers := map[string]string{}
	for {
		line, err := r.ReadString('\n')
		line = strings.TrimSpace(line)
		if line != "" {
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				return nil, nil, fmt.Errorf("bad trailer %q", line)
			}
			trailers[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
		}
		if err != nil || line == "" {
			break
		}
	}
	return data, trailers, nil
}

func s3PutObject(c *call) {
	b, e := c.s3Bucket()
	if e != nil {
		c.writeError(e)
		return
	}
	data, trailers, e := readPayload(c)
	if e != nil {
		c.writeError(e)
		return
	}
	h := c.r.Header
	v := &objectVersion{versionID: "null", data: data, etag: etagOf(data), lastModified: time.Now(),
		contentType: h.Get("Content-Type"), checksums: map[string]string{}, meta: map[string]string{}}
	if v.contentType == "" {
		v.contentType = "binary/octet-stream"
	}
	if e := verifyDigests(h, trailers, data, v.checksums); e != nil {
		c.writeError(e)
		return
	}
	if e := c.applySSE(b, v); e != nil {
		c.writeError(e)
		return
	}
	if e := applyObjectLock(b, h, v); e != nil {
		c.writeError(e)
		return
	}
	for k := range h {
		if strings.HasPrefix(strings.ToLower(k), "x-amz-meta-") {
			v.meta[k] = h.Get(k)
		}
	}
	key := c.objectKey()
	if b.lock {
		v.versionID = newVersionID()
		b.objects[key] = append(b.objects[key], v)
		c.w.Header().Set("X-Amz-Version-Id", v.versionID)
	} else {
		b.objects[key] = []*objectVersion{v}
	}
	out := c.w.Header()
	out.Set("ETag", v.etag)
	setSSEHeaders(out, v)
	for _, alg := range sortedKeys(v.checksums) {
		out.Set("X-Amz-Checksum-"+alg, v.checksums[alg])
	}
	if len(v.checksums) > 0 {
		out.Set("X-Amz-Checksum-Type", "FULL_OBJECT")
	}
	c.setS3RequestHeaders()
	c.w.WriteHeader(http.StatusOK)
}

// verifyDigests checks Content-MD5 and every x-amz-checksum-* value (header or
// trailer) against the bytes received, and records the checksums.
func verifyDigests(h http.Header, trailers map[string]string, data []byte, into map[string]string) *apiError {
	if md := h.Get("Content-MD5"); md != "" {
		want, err := base64.StdEncoding.DecodeString(md)
		if err != nil || len(want) != md5.Size {
			return errorf("InvalidDigest", "The Content-MD5 you specified was invalid.")
		}
		got := md5.Sum(data)
		if !bytes.Equal(want, got[:]) {
			return errorf("BadDigest", "The Content-MD5 you specified did not match what we received.")
		}
	}
	for alg, sum := range checksumFuncs {
		sent := h.Get("X-Amz-Checksum-" + alg)
		if t, ok := trailers["x-amz-checksum-"+alg]; ok {
			sent = t
		}
		if sent == "" {
			continue
		}
		if sent != base64.StdEncoding.EncodeToString(sum(data)) {
			return errorf("BadDigest", "The %s you specified did not match the calculated checksum.", strings.ToUpper(alg))
		}
		into[alg] = sent
	}
	return nil
}

// applySSE picks the object's encryption: the request's SSE headers if any,
// else the bucket default. A KMS key must exist, as S3 checks it with KMS.
func (c *call) applySSE(b *bucket, v *objectVersion) *apiError {
	h := c.r.Header
	alg := h.Get("X-Amz-Server-Side-Encryption")
	keyID := h.Get("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id")
	switch alg {
	case "":
		if keyID != "" {
			return errorf("InvalidArgument", "Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms")
		}
		v.sse, v.kmsKeyARN, v.bucketKey = b.sseAlg, b.sseKeyARN, b.bucketKey
		if v.sse == "" {
			v.sse = "AES256"
		}
		return nil
	case "AES256":
		if keyID != "" {
			return errorf("InvalidArgument", "Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms")
		}
		v.sse = alg
		return nil
	case "aws:kms", "aws:kms:dsse":
	default:
		return errorf("InvalidArgument", "The encryption method specified is not supported")
	}
	v.sse = alg
	if keyID == "" {
		// No key named: S3 uses the bucket's key, or the AWS managed aws/s3 key.
		v.kmsKeyARN = b.sseKeyARN
		if v.kmsKeyARN == "" {
			v.kmsKeyARN = c.sc.arn("kms", "key/"+uuidFrom("alias/aws/s3"))
		}
	} else {
		k := c.sc.kms().lookup(keyID)
		if k == nil {
			return errorf("KMS.NotFoundException", "Invalid keyId %s", keyID)
		}
		v.kmsKeyARN = k.arn
	}
	v.bucketKey = b.bucketKey
	if bk := h.Get("X-Amz-Server-Side-Encryption-Bucket-Key-Enabled"); bk != "" {
		v.bucketKey = strings.EqualFold(bk, "true")
	}
	return nil
}

// applyObjectLock validates the lock headers and applies the bucket's default
// retention (COMPLIANCE, 7 years) when the request names none.
func applyObjectLock(b *bucket, h http.Header, v *objectVersion) *apiError {
	mode := h.Get("X-Amz-Object-Lock-Mode")
	until := h.Get("X-Amz-Object-Lock-Retain-Until-Date")
	hold := h.Get("X-Amz-Object-Lock-Legal-Hold")
	if !b.lock {
		if mode != "" || until != "" || hold != "" {
			return errorf("InvalidRequest", "Bucket is missing Object Lock Configuration")
		}
		return nil
	}
	hasDigest := h.Get("Content-MD5") != "" || len(v.checksums) > 0
	if !hasDigest {
		return errorf("InvalidRequest", "Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters")
	}
	if (mode == "") != (until == "") {
		return errorf("InvalidArgument", "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied")
	}
	switch hold {
	case "", "OFF":
	case "ON":
		v.legalHold = true
	default:
		return errorf("InvalidArgument", "Legal Hold must be either of 'ON' or 'OFF'")
	}
	if mode == "" {
		// The bucket's default retention, if it has one.
		if b.lockMode != "" {
			v.lockMode, v.retainUntil = b.lockMode, v.lastModified.AddDate(b.lockYears, 0, b.lockDays)
		}
		return nil
	}
	if mode != "COMPLIANCE" && mode != "GOVERNANCE" {
		return errorf("InvalidArgument", "Unknown wormMode directive.")
	}
	t, err := time.Parse(time.RFC3339, until)
	if err != nil {
		return errorf("InvalidArgument", "The retain until date must be provided in ISO 8601 format")
	}
	if !t.After(time.Now()) {
		return errorf("InvalidArgument", "The retain until date must be in the future!")
	}
	v.lockMode, v.retainUntil = mode, t
	return nil
}
