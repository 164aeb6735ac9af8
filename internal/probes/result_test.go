package probes

import "testing"

// docs/alerting.md, "What counts as an error": a failed or throttled call
// and a resource that cannot serve are errors; a slow success and a state
// the service documents as normal operation are not.
func TestIsError(t *testing.T) {
	tests := map[string]struct {
		r    Result
		want bool
	}{
		"healthy":                        {Result{Status: Healthy}, false},
		"slow success":                   {Result{Status: Degraded, Class: ClassSlow}, false},
		"throttled":                      {Result{Status: Degraded, Class: ClassThrottled}, true},
		"timeout":                        {Result{Status: Unavailable, Class: ClassTimeout}, true},
		"access denied":                  {Result{Status: Unavailable, Class: ClassAuth}, true},
		"table UPDATING (normal work)":   {Result{Status: Degraded, Class: ClassInvalidState}, false},
		"function Failed (cannot serve)": {Result{Status: Unavailable, Class: ClassInvalidState}, true},
		"key disabled (refused call)":    {Result{Status: StatusFor(ClassInvalidState), Class: ClassInvalidState}, true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := tc.r.IsError(); got != tc.want {
				t.Fatalf("IsError() = %v, want %v", got, tc.want)
			}
		})
	}
}
