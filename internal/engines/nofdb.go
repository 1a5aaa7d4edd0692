//go:build !fdb

package engines

func fdbEngine() Engine {
	return Engine{Name: FDB, unavailable: "this test binary was built without -tags fdb"}
}
