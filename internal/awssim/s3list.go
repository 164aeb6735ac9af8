package awssim

import (
	"encoding/xml"
	"net/http"
	"strconv"
	"strings"
)

// s3ListObjectsV2 lists the current (non-deleted) objects under a prefix,
// up to max-keys, in key order. Continuation tokens are not modelled: a
// truncated listing says so and stops.
func s3ListObjectsV2(c *call) {
	b, e := c.s3Bucket()
	if e != nil {
		c.writeError(e)
		return
	}
	q := c.r.URL.Query()
	prefix := q.Get("prefix")
	maxKeys := 1000
	if v := q.Get("max-keys"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			c.writeError(errorf("InvalidArgument", "Provided max-keys not an integer or within integer range"))
			return
		}
		maxKeys = min(n, 1000)
	}
	type content struct {
		Key          string
		LastModified string
		ETag         string
		Size         int
		StorageClass string
	}
	type result struct {
		XMLName     xml.Name `xml:"ListBucketResult"`
		Name        string
		Prefix      string
		KeyCount    int
		MaxKeys     int
		IsTruncated bool
		Contents    []content
	}
	out := result{Name: b.name, Prefix: prefix, MaxKeys: maxKeys}
	for _, key := range sortedKeys(b.objects) {
		versions := b.objects[key]
		if !strings.HasPrefix(key, prefix) || len(versions) == 0 || versions[len(versions)-1].deleteMarker {
			continue
		}
		if len(out.Contents) == maxKeys {
			out.IsTruncated = true
			break
		}
		v := versions[len(versions)-1]
		out.Contents = append(out.Contents, content{Key: key, LastModified: v.lastModified.UTC().Format("2006-01-02T15:04:05.000Z"),
			ETag: v.etag, Size: len(v.data), StorageClass: "STANDARD"})
	}
	out.KeyCount = len(out.Contents)
	body, _ := xml.Marshal(out)
	c.setS3RequestHeaders()
	c.writeXML(http.StatusOK, "application/xml", append([]byte(xml.Header), body...))
}
