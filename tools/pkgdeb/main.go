// Command pkgdeb builds a Debian package from an nfpm description
// (deploy/debian/*.yaml) with nfpm as a library, and writes the
// package's changelog for the version it builds, so that the package and
// its changelog never disagree (lintian checks both).
//
//	pkgdeb -config deploy/debian/layerd.yaml -version 1.2.3 \
//	    -var BIN=dist/linux-amd64 -out dist
//
// In the description, ${VERSION}, ${ARCH} and every -var NAME=VALUE are
// expanded, and relative source paths are taken from the repository's top
// (the working directory). It is its own Go module, so that the packager's
// dependencies stay out of the daemons' module.
package main

import (
	"bytes"
	"compress/gzip"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/goreleaser/nfpm/v2"
	_ "github.com/goreleaser/nfpm/v2/deb" // registers the deb packager
	"github.com/goreleaser/nfpm/v2/files"
)

type vars map[string]string

func (v vars) String() string { return fmt.Sprint(map[string]string(v)) }

func (v vars) Set(s string) error {
	name, value, ok := strings.Cut(s, "=")
	if !ok || name == "" {
		return fmt.Errorf("%q is not NAME=VALUE", s)
	}
	v[name] = value
	return nil
}

// debianVersion is what dpkg accepts as an upstream version of a native
// package: it starts with a digit and has no hyphen (a hyphen would make
// the rest a Debian revision).
var debianVersion = regexp.MustCompile(`^[0-9][A-Za-z0-9.+~]*$`)

// placeholder is a name to replace in a maintainer script.
var placeholder = regexp.MustCompile(`@[A-Z_]+@`)

func main() {
	config := flag.String("config", "", "the package's nfpm description (YAML)")
	version := flag.String("version", "", "the package's version, as dpkg compares it (1.2.3, 1.2.3~rc1)")
	arch := flag.String("arch", "amd64", "the Debian architecture")
	out := flag.String("out", "dist", "the directory the package is written to")
	epoch := flag.Int64("mtime", 0, "Unix time of the files and the changelog entry (default: $SOURCE_DATE_EPOCH, else now)")
	expand := vars{}
	flag.Var(expand, "var", "NAME=VALUE expanded as ${NAME} in the description (repeatable)")
	flag.Parse()
	if *config == "" || *version == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: pkgdeb -config FILE.yaml -version VERSION [-var NAME=VALUE]... [-out DIR]")
		os.Exit(2)
	}
	if !debianVersion.MatchString(*version) {
		fail(fmt.Errorf("version %q: a native Debian version starts with a digit and has only letters, digits, '.', '+' and '~'", *version))
	}
	mtime := time.Unix(*epoch, 0).UTC()
	if *epoch == 0 {
		mtime = time.Now().UTC().Truncate(time.Second)
		if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				fail(fmt.Errorf("SOURCE_DATE_EPOCH=%q: %w", s, err))
			}
			mtime = time.Unix(n, 0).UTC()
		}
	}
	path, err := build(*config, *version, *arch, *out, mtime, expand)
	if err != nil {
		fail(err)
	}
	fmt.Println(path)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "pkgdeb:", err)
	os.Exit(1)
}

// build makes the package and returns its path.
func build(config, version, arch, out string, mtime time.Time, expand vars) (string, error) {
	mapping := func(name string) string {
		switch name {
		case "VERSION":
			return version
		case "ARCH":
			return arch
		}
		if v, ok := expand[name]; ok {
			return v
		}
		if strings.HasPrefix(name, "NFPM_") {
			// nfpm asks for its signing passphrases; these packages
			// are not signed (an apt repository signs its index).
			return ""
		}
		// An unset name would silently become "": a source path that
		// points at the repository's top, say.
		fail(fmt.Errorf("%s: ${%s} is not set (pass -var %s=...)", config, name, name))
		return ""
	}
	// nfpm expands only some fields itself (not contents' sources): the
	// whole description is expanded here first.
	text, err := os.ReadFile(config)
	if err != nil {
		return "", err
	}
	cfg, err := nfpm.ParseWithEnvMapping(strings.NewReader(os.Expand(string(text), mapping)), mapping)
	if err != nil {
		return "", fmt.Errorf("%s: %w", config, err)
	}
	info, err := cfg.Get("deb")
	if err != nil {
		return "", fmt.Errorf("%s: %w", config, err)
	}
	info = nfpm.WithDefaults(info)
	info.Version = version
	info.VersionSchema = "none"
	// Get splits a semver's pre-release and metadata off; the version is
	// dpkg's, whole.
	info.Prerelease, info.VersionMetadata = "", ""
	info.Arch = arch
	info.MTime = mtime

	changelog, err := os.CreateTemp("", "pkgdeb-changelog-*.gz")
	if err != nil {
		return "", err
	}
	defer os.Remove(changelog.Name())
	if _, err := changelog.Write(debianChangelog(info, mtime)); err != nil {
		return "", err
	}
	if err := changelog.Close(); err != nil {
		return "", err
	}
	// A native package (no Debian revision) keeps its changelog as
	// changelog.gz (Debian policy 12.7).
	info.Contents = append(info.Contents, &files.Content{
		Source:      changelog.Name(),
		Destination: "/usr/share/doc/" + info.Name + "/changelog.gz",
		FileInfo:    &files.ContentFileInfo{Mode: 0o644, MTime: mtime},
	})
	// The maintainer scripts are shared by the packages: @NAME@ in them
	// is -var NAME's value.
	for _, script := range []*string{&info.Scripts.PostInstall, &info.Scripts.PreRemove, &info.Scripts.PostRemove, &info.Scripts.PreInstall} {
		if *script == "" {
			continue
		}
		rendered, err := renderScript(*script, expand)
		if err != nil {
			return "", err
		}
		defer os.Remove(rendered)
		*script = rendered
	}
	if err := nfpm.PrepareForPackager(info, "deb"); err != nil {
		return "", fmt.Errorf("%s: %w", config, err)
	}
	packager, err := nfpm.Get("deb")
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return "", err
	}
	target := filepath.Join(out, packager.ConventionalFileName(info))
	f, err := os.Create(target)
	if err != nil {
		return "", err
	}
	info.Target = target
	if err := packager.Package(info, f); err != nil {
		f.Close()
		os.Remove(target)
		return "", fmt.Errorf("%s: %w", config, err)
	}
	return target, f.Close()
}

// renderScript writes a copy of the maintainer script at path with each
// @NAME@ replaced by expand's value for NAME, and returns the copy's path.
func renderScript(path string, expand vars) (string, error) {
	text, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	s := string(text)
	for name, value := range expand {
		s = strings.ReplaceAll(s, "@"+name+"@", value)
	}
	if m := placeholder.FindString(s); m != "" {
		return "", fmt.Errorf("%s: %s is not set (pass -var %s=...)", path, m, strings.Trim(m, "@"))
	}
	f, err := os.CreateTemp("", "pkgdeb-script-*")
	if err != nil {
		return "", err
	}
	if _, err := f.WriteString(s); err != nil {
		f.Close()
		return "", err
	}
	return f.Name(), f.Close()
}

// debianChangelog is the package's changelog in Debian's format
// (deb-changelog(5)), one entry for the version built, gzipped with no
// name and no time in its header, as gzip -9n writes it (lintian checks).
func debianChangelog(info *nfpm.Info, at time.Time) []byte {
	var text bytes.Buffer
	fmt.Fprintf(&text, "%s (%s) unstable; urgency=medium\n\n", info.Name, info.Version)
	fmt.Fprintf(&text, "  * Release %s.\n\n", info.Version)
	fmt.Fprintf(&text, " -- %s  %s\n", info.Maintainer, at.Format("Mon, 02 Jan 2006 15:04:05 -0700"))
	var gz bytes.Buffer
	w, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	w.Write(text.Bytes())
	w.Close()
	return gz.Bytes()
}
