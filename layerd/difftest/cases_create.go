package difftest

import "github.com/go-zookeeper/zk"

func createCases() []Case {
	return []Case{
		{"create/persistent", func(r *R) {
			r.Create("a", D("x"), zk.FlagPersistent, open)
			r.Get("a")
			r.Exists("")
			r.Children("")
		}},
	}
}
