package awssim

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// A fault's Set overrides settings of the resources it matches — a key's
// rotation, a table's or bucket's encryption, a bucket's Object Lock — for
// as long as the fault is active, so a test or a demo can turn a compliance
// check red and, by deleting the fault, green again. Keys are AWS's field
// names; "NONE" removes the whole configuration (no SSEDescription, no
// bucket encryption, no Object Lock, no default retention rule).

// Each service lists the keys its Set accepts and their values
// (service.settings), and applies them in its own file (kmsView, tableSSE,
// bucketView).

func oneOf(values ...string) func(string) error {
	return func(v string) error {
		if !slices.Contains(values, v) {
			return fmt.Errorf("want one of %s", strings.Join(values, ", "))
		}
		return nil
	}
}

func intIn(lo, hi int) func(string) error {
	return func(v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			return fmt.Errorf("want a whole number from %d to %d", lo, hi)
		}
		return nil
	}
}

func nonEmpty(v string) error {
	if v == "" {
		return fmt.Errorf("must not be empty")
	}
	return nil
}

func timeOrNow(v string) error {
	if v == "now" {
		return nil
	}
	if _, err := time.Parse(time.RFC3339, v); err != nil {
		return fmt.Errorf(`want "now" or an RFC 3339 time`)
	}
	return nil
}

// validateSet checks a fault's Set against its service.
func (s *Sim) validateSet(svc *service, set map[string]string) error {
	name, keys := svc.name, svc.settings
	if len(keys) == 0 {
		return fmt.Errorf("service %s has no settings to override (set works for %s)", name,
			serviceNames(s.services, func(svc *service) bool { return len(svc.settings) > 0 }, "and"))
	}
	for _, k := range sortedKeys(set) {
		check, ok := keys[k]
		if !ok {
			return fmt.Errorf("%s has no setting %q (want one of %s)", name, k, strings.Join(sortedKeys(keys), ", "))
		}
		if err := check(set[k]); err != nil {
			return fmt.Errorf("set %s=%q: %v", k, set[k], err)
		}
	}
	if set["Years"] != "" && set["Days"] != "" {
		return fmt.Errorf("set Years or Days, not both (S3 retention is one or the other)")
	}
	return nil
}

// mergeSet adds a fault's settings to those already collected; the fault
// added first wins a key both set.
func mergeSet(into map[string]string, set map[string]string) map[string]string {
	if len(set) == 0 {
		return into
	}
	if into == nil {
		into = map[string]string{}
	}
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if _, ok := into[k]; !ok {
			into[k] = set[k]
		}
	}
	return into
}
