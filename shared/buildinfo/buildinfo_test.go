package buildinfo

import (
	"strings"
	"testing"

	"zkfdb/shared/store/engine"
)

func TestString(t *testing.T) {
	s := String("layerd")
	if !strings.HasPrefix(s, "layerd "+Version+" commit ") {
		t.Errorf("String = %q, want it to start with the name, the version and the commit", s)
	}
	want := "FoundationDB engine: not compiled in"
	if engine.FDBCompiledIn {
		want = "FoundationDB engine: compiled in"
	}
	if !strings.Contains(s, want) {
		t.Errorf("String = %q, want it to say %q", s, want)
	}
}
