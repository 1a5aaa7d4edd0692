package flagconfig

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func newFlags() (*flag.FlagSet, *string, *time.Duration, *bool, *string) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	name := fs.String("name", "def", "")
	tick := fs.Duration("tick", time.Second, "")
	version := fs.Bool("version", false, "")
	cfg := fs.String("config", "", "")
	return fs, name, tick, version, cfg
}

// TestPrecedence: command line over environment over file over default,
// and each value's source said.
func TestPrecedence(t *testing.T) {
	file := filepath.Join(t.TempDir(), "t.cfg")
	os.WriteFile(file, []byte("# comment\n\nname = fromfile\ntick=3s\n"), 0o644)
	t.Setenv("T_TICK", "5s")
	fs, name, tick, _, _ := newFlags()
	src, err := Load(fs, []string{"--config", file}, Options{EnvPrefix: "T_", Files: []File{{Flag: "config", FlagNames: true}}})
	if err != nil {
		t.Fatal(err)
	}
	if *name != "fromfile" || *tick != 5*time.Second {
		t.Errorf("name %q tick %v, want fromfile and 5s (the environment over the file)", *name, *tick)
	}
	if src["name"] != file+":3" || src["tick"] != "env T_TICK" || src["version"] != "default" || src["config"] != "command line" {
		t.Errorf("sources %v", src)
	}
	fs, name, _, _, _ = newFlags()
	if _, err := Load(fs, []string{"--config", file, "--name", "cmd"}, Options{EnvPrefix: "T_", Files: []File{{Flag: "config", FlagNames: true}}}); err != nil || *name != "cmd" {
		t.Errorf("the command line must win: %q, %v", *name, err)
	}
}

// TestCommandLineOnly: actions and file names are not taken from the
// environment or a file.
func TestCommandLineOnly(t *testing.T) {
	t.Setenv("T_VERSION", "true")
	t.Setenv("T_CONFIG", "/nonexistent")
	fs, _, _, version, cfg := newFlags()
	if _, err := Load(fs, nil, Options{EnvPrefix: "T_", CommandLineOnly: []string{"version"}, Files: []File{{Flag: "config", FlagNames: true}}}); err != nil {
		t.Fatal(err)
	}
	if *version || *cfg != "" {
		t.Errorf("version %v, config %q: set from the environment", *version, *cfg)
	}
	file := filepath.Join(t.TempDir(), "t.cfg")
	os.WriteFile(file, []byte("version=true\n"), 0o644)
	fs, _, _, _, _ = newFlags()
	_, err := Load(fs, []string{"--config", file}, Options{CommandLineOnly: []string{"version"}, Files: []File{{Flag: "config", FlagNames: true}}})
	if err == nil || !strings.Contains(err.Error(), ":1: version") {
		t.Errorf("version in a file: %v, want it refused with its line", err)
	}
}

// TestSettingsAndForeignKeys: a mapped setting applies through its
// function; a foreign key is reported, not refused, where the file says
// so.
func TestSettingsAndForeignKeys(t *testing.T) {
	file := filepath.Join(t.TempDir(), "zoo.cfg")
	os.WriteFile(file, []byte("tickTime=2000\ninitLimit=10\n"), 0o644)
	fs, _, tick, _, _ := newFlags()
	fs.String("zoo", "", "")
	var foreign []string
	_, err := Load(fs, []string{"--zoo", file}, Options{Files: []File{{Flag: "zoo",
		Settings: map[string]Setting{"tickTime": {Apply: func(v string, set func(string, string) error) error { return set("tick", v+"ms") }}},
		Foreign:  func(key string, line int) { foreign = append(foreign, key) }}}})
	if err != nil {
		t.Fatal(err)
	}
	if *tick != 2*time.Second || len(foreign) != 1 || foreign[0] != "initLimit" {
		t.Errorf("tick %v, foreign %v", *tick, foreign)
	}
}
