package reload

import (
	"errors"
	"slices"
	"testing"
)

// A config that one feature rejects reaches no feature's Apply; one all
// accept reaches every Apply, in order, even past one that fails.
func TestFeaturesCheckAllThenApplyAll(t *testing.T) {
	var log []string
	feature := func(name string, checkErr, applyErr error) Feature[string, int] {
		return Funcs[string, int]{
			CheckFunc: func(cfg string, k int) error { log = append(log, "check "+name+" "+cfg); return checkErr },
			ApplyFunc: func(cfg string, k int) error { log = append(log, "apply "+name+" "+cfg); return applyErr },
		}
	}
	bad := errors.New("bad")
	for name, tc := range map[string]struct {
		fs      Features[string, int]
		wantErr error
		want    []string
	}{
		"rejected": {
			fs:      Features[string, int]{feature("a", nil, nil), feature("b", bad, nil), feature("c", nil, nil)},
			wantErr: bad,
			want:    []string{"check a v2", "check b v2"},
		},
		"applied": {
			fs:      Features[string, int]{feature("a", nil, bad), None[string, int](), feature("c", nil, nil)},
			wantErr: bad,
			want:    []string{"check a v2", "check c v2", "apply a v2", "apply c v2"},
		},
	} {
		t.Run(name, func(t *testing.T) {
			log = nil
			if err := tc.fs.Apply("v2", 1); !errors.Is(err, tc.wantErr) {
				t.Errorf("error %v, want %v", err, tc.wantErr)
			}
			if !slices.Equal(log, tc.want) {
				t.Errorf("calls %q, want %q", log, tc.want)
			}
		})
	}
}
