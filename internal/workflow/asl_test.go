package workflow

import (
	"strings"
	"testing"
)

func TestParseASL(t *testing.T) {
	cases := map[string]struct {
		def     string
		want    []string // path=function/style, in order
		wantErr string
	}{
		"optimised integration": {
			def:  `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"arn:aws:lambda:us-east-1:123456789012:function:ingest:$LATEST","Payload.$":"$"},"End":true}}}`,
			want: []string{"A=ingest/integration"},
		},
		"direct lambda ARN": {
			def:  `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:analyze","End":true}}}`,
			want: []string{"A=analyze/direct"},
		},
		"dynamic function name": {
			def:  `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName.$":"$.fn"},"End":true}}}`,
			want: []string{"A=(dynamic)/integration"},
		},
		"wait for task token": {
			def:  `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken","Parameters":{"FunctionName":"approve"},"End":true}}}`,
			want: []string{"A=approve/integration"},
		},
		"nested parallel and map": {
			def: `{"StartAt":"P","States":{
			  "P":{"Type":"Parallel","Branches":[
			    {"StartAt":"B1","States":{"B1":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"one"},"End":true}}},
			    {"StartAt":"M","States":{"M":{"Type":"Map","ItemProcessor":{"StartAt":"I","States":{"I":{"Type":"Task","Resource":"arn:aws:lambda:eu-west-1:123456789012:function:two","End":true}}},"End":true}}}
			  ],"Next":"Old"},
			  "Old":{"Type":"Map","Iterator":{"StartAt":"J","States":{"J":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"three"},"End":true}}},"End":true}}}`,
			want: []string{"Old/item/J=three/integration", "P/branch[0]/B1=one/integration", "P/branch[1]/M/item/I=two/direct"},
		},
		"no lambda": {
			def:  `{"StartAt":"Put","States":{"Put":{"Type":"Task","Resource":"arn:aws:states:::dynamodb:putItem","Parameters":{"TableName":"t"},"Next":"Done"},"Done":{"Type":"Succeed"}}}`,
			want: nil,
		},
		"not JSON":  {def: `{"StartAt":`, wantErr: "not valid JSON"},
		"no States": {def: `{"StartAt":"A"}`, wantErr: "no States"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			refs, err := ParseASL(tc.def)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range refs {
				fn := r.Name()
				if r.Dynamic {
					fn = "(dynamic)"
				}
				got = append(got, r.Path+"="+fn+"/"+r.Style)
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Fatalf("got %v\nwant %v", got, tc.want)
			}
		})
	}
}

func FuzzParseASL(f *testing.F) {
	f.Add(`{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"x"},"End":true}}}`)
	f.Add(`{"States":{"P":{"Type":"Parallel","Branches":[{"States":{"M":{"Type":"Map","Iterator":{"States":{}}}}}]}}}`)
	f.Add(`{"States":{"A":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:1:function:f"}}}`)
	f.Fuzz(func(t *testing.T, def string) {
		refs, err := ParseASL(def)
		if err != nil {
			return
		}
		for _, r := range refs {
			if r.Style != StyleIntegration && r.Style != StyleDirect {
				t.Fatalf("style %q", r.Style)
			}
			if !r.Dynamic && r.Function == "" {
				t.Fatalf("static ref without function: %+v", r)
			}
		}
	})
}
