package embedded_test

import (
	"testing"

	"zkfdb/shared/store/embedded"
	"zkfdb/shared/store/storetest"
)

func TestConformanceInMemory(t *testing.T) {
	db, err := embedded.Open(embedded.Options{InMemory: true})
	if err != nil {
		t.Fatalf("Open in memory: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	storetest.Run(t, db)
}

func TestConformanceOnDisk(t *testing.T) {
	db, err := embedded.Open(embedded.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatalf("Open on disk: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	storetest.Run(t, db)
}
