// Package flagconfig gives every flag of a daemon three more places to be
// set, in increasing precedence: its defaults, a configuration file,
// environment variables, the command line. It says where each effective
// value came from (--print-config), and refuses a bad file with the file,
// the line and the key at fault.
//
// The file holds key=value lines, as ZooKeeper's zoo.cfg does: blanks
// around keys and values are ignored, and so are empty lines and lines
// starting with #. A key is a flag's name (tick-time = 2s) or, where the
// daemon maps one, a ZooKeeper setting with its ZooKeeper meaning
// (tickTime=2000, in milliseconds).
package flagconfig

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// Setting maps a file key that is not a flag's name (a ZooKeeper setting)
// onto flags: Apply receives the value and sets the flags it stands for
// with set, or fails with why the value is wrong.
type Setting struct {
	Apply func(value string, set func(flag, value string) error) error
}

// Options describe a daemon's configuration.
type Options struct {
	// EnvPrefix names the environment variables: a flag "tick-time" is
	// read from EnvPrefix+"TICK_TIME" (LAYERD_TICK_TIME).
	EnvPrefix string
	// Files are the flags whose value is a configuration file to read,
	// in the order they are read (a later file overrides an earlier
	// one), each with the keys it takes beyond the flags' names and how
	// unknown keys are treated.
	Files []File
	// CommandLineOnly are flags neither the environment nor a file sets
	// (--version, --print-config): actions, not settings. The files'
	// own flags are always among them.
	CommandLineOnly []string
}

// File is one kind of configuration file.
type File struct {
	// Flag is the flag that names the file ("config", "zoo-cfg").
	Flag string
	// Settings are the keys beyond flag names that the file takes.
	Settings map[string]Setting
	// FlagNames says whether flags' own names are keys of the file.
	FlagNames bool
	// Foreign, if set, is called with each key the file has that is
	// neither, and its line: a key of another program's file (zoo.cfg)
	// is reported, not refused. Without it such a key is an error.
	Foreign func(key string, line int)
}

// Sources says where each flag's effective value came from: "default",
// "FILE:LINE", "env NAME" or "command line".
type Sources map[string]string

// Load parses args into fs, then fills every flag not given on the
// command line from the environment and from the files named by
// opts.Files' flags (the environment winning over the files). Errors name
// the file and line, or the variable, at fault.
func Load(fs *flag.FlagSet, args []string, opts Options) (Sources, error) {
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	cmdline := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { cmdline[f.Name] = true })
	src := Sources{}
	fs.VisitAll(func(f *flag.Flag) {
		src[f.Name] = "default"
		if cmdline[f.Name] {
			src[f.Name] = "command line"
		}
	})
	only := map[string]bool{}
	for _, n := range opts.CommandLineOnly {
		only[n] = true
	}
	for _, f := range opts.Files {
		only[f.Flag] = true
	}
	set := func(name, value, from string) error {
		if cmdline[name] {
			return nil // the command line wins
		}
		if only[name] {
			return fmt.Errorf("--%s is set on the command line only", name)
		}
		if fs.Lookup(name) == nil {
			return fmt.Errorf("no flag --%s", name)
		}
		if err := fs.Set(name, value); err != nil {
			return fmt.Errorf("--%s=%q: %w", name, value, err)
		}
		src[name] = from
		return nil
	}
	for _, file := range opts.Files {
		f := fs.Lookup(file.Flag)
		if f == nil || f.Value.String() == "" {
			continue
		}
		if err := readFile(fs, f.Value.String(), file, set); err != nil {
			return nil, err
		}
	}
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		name := EnvName(opts.EnvPrefix, f.Name)
		if only[f.Name] {
			return
		}
		if v, ok := os.LookupEnv(name); ok && envErr == nil {
			if err := set(f.Name, v, "env "+name); err != nil {
				envErr = fmt.Errorf("environment variable %s: %w", name, err)
			}
		}
	})
	return src, envErr
}

// EnvName is the environment variable of flag name: prefix, then the
// name in capitals with dashes and dots as underscores.
func EnvName(prefix, name string) string {
	return prefix + strings.ToUpper(strings.NewReplacer("-", "_", ".", "_").Replace(name))
}

func readFile(fs *flag.FlagSet, path string, file File, set func(name, value, from string) error) error {
	fh, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("--%s: %w", file.Flag, err)
	}
	defer fh.Close()
	return parse(fh, path, file, func(key, value string, line int) error {
		from := fmt.Sprintf("%s:%d", path, line)
		if s, ok := file.Settings[key]; ok {
			return s.Apply(value, func(name, v string) error { return set(name, v, from) })
		}
		if file.FlagNames && fs.Lookup(key) != nil && key != file.Flag {
			return set(key, value, from)
		}
		if file.Foreign != nil {
			file.Foreign(key, line)
			return nil
		}
		return errors.New("unknown key")
	})
}

// parse reads key=value lines, calling fn with each; an error of fn is
// returned with the file, the line and the key.
func parse(r io.Reader, path string, file File, fn func(key, value string, line int) error) error {
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		if !ok || key == "" {
			return fmt.Errorf("%s:%d: %q is not key=value", path, n, line)
		}
		if err := fn(key, value, n); err != nil {
			return fmt.Errorf("%s:%d: %s: %w", path, n, key, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// Print writes every flag's effective value and where it came from, one
// flag a line in the file's form (name = value  # source), flags whose
// name is in secret with the value hidden.
func Print(w io.Writer, fs *flag.FlagSet, src Sources, secret ...string) {
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	sort.Strings(names)
	for _, n := range names {
		v := fs.Lookup(n).Value.String()
		for _, s := range secret {
			if n == s && v != "" {
				v = "(set, hidden)"
			}
		}
		fmt.Fprintf(w, "%s = %s  # %s\n", n, v, src[n])
	}
}
