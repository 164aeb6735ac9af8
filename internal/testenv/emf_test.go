package testenv

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestParseEMFRejects: the checker refuses what CloudWatch would not turn
// into metrics, so a line it accepts means something.
func TestParseEMFRejects(t *testing.T) {
	now := time.Now().UnixMilli()
	doc := func(aws, root string) string {
		return fmt.Sprintf(`{"_aws":%s%s}`, aws, root)
	}
	meta := func(ts int64, directive string) string {
		return fmt.Sprintf(`{"Timestamp":%d,"CloudWatchMetrics":[%s]}`, ts, directive)
	}
	good := `{"Namespace":"ns","Dimensions":[["Service"]],"Metrics":[{"Name":"Error","Unit":"Count"}]}`
	root := `,"Service":"s3","Error":0`
	if _, err := ParseEMF([]byte(doc(meta(now, good), root))); err != nil {
		t.Fatalf("a valid line was refused: %v", err)
	}
	many := make([]string, 31)
	for i := range many {
		many[i] = fmt.Sprintf(`"D%d"`, i)
	}
	for name, line := range map[string]string{
		"not JSON":             `Error=1`,
		"text after":           doc(meta(now, good), root) + " trailing",
		"no _aws":              `{"Service":"s3","Error":0}`,
		"no timestamp":         doc(`{"CloudWatchMetrics":[`+good+`]}`, root),
		"timestamp in seconds": doc(meta(now/1000, good), root),
		"timestamp fraction":   doc(`{"Timestamp":1.5,"CloudWatchMetrics":[`+good+`]}`, root),
		"no directives":        doc(meta(now, ""), root),
		"unknown _aws member":  doc(`{"Timestamp":`+fmt.Sprint(now)+`,"CloudWatchMetrics":[`+good+`],"Extra":1}`, root),
		"AWS namespace":        doc(meta(now, strings.Replace(good, `"ns"`, `"AWS/S3"`, 1)), root),
		"no dimension value":   doc(meta(now, good), `,"Error":0`),
		"numeric dimension":    doc(meta(now, good), `,"Service":3,"Error":0`),
		"blank dimension":      doc(meta(now, good), `,"Service":"  ","Error":0`),
		"non-ASCII dimension":  doc(meta(now, good), `,"Service":"s3é","Error":0`),
		"31 dimensions":        doc(meta(now, `{"Namespace":"ns","Dimensions":[[`+strings.Join(many, ",")+`]],"Metrics":[]}`), root),
		"no metric value":      doc(meta(now, good), `,"Service":"s3"`),
		"string metric value":  doc(meta(now, good), `,"Service":"s3","Error":"0"`),
		"unknown unit":         doc(meta(now, strings.Replace(good, `"Count"`, `"Errors"`, 1)), root),
		"bad resolution":       doc(meta(now, strings.Replace(good, `"Unit":"Count"`, `"StorageResolution":5`, 1)), root),
		"metric and dimension": doc(meta(now, `{"Namespace":"ns","Dimensions":[["Error"]],"Metrics":[{"Name":"Error"}]}`), `,"Error":0`),
	} {
		if _, err := ParseEMF([]byte(line)); err == nil {
			t.Errorf("%s: accepted %s", name, line)
		}
	}
}
