package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"
)

// flagSet is a subcommand's flags, each with an environment twin
// PACER_<NAME>: a flag on the command line beats the environment, which beats
// the default.
type flagSet struct {
	fs     *flag.FlagSet
	getenv func(string) string
}

func newFlagSet(name, usage string, getenv func(string) string, stderr io.Writer) *flagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: pacer %s\n\n", usage)
		fs.VisitAll(func(f *flag.Flag) {
			fmt.Fprintf(stderr, "  -%s (env %s)\n    \t%s", f.Name, envName(f.Name), f.Usage)
			if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "false" {
				fmt.Fprintf(stderr, " (default %s)", f.DefValue)
			}
			fmt.Fprintln(stderr)
		})
	}
	return &flagSet{fs: fs, getenv: getenv}
}

// envName is the environment twin of a flag: database-url → PACER_DATABASE_URL.
func envName(flagName string) string {
	return "PACER_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

func (f *flagSet) String(p *string, name, def, usage string) { f.fs.StringVar(p, name, def, usage) }
func (f *flagSet) Int(p *int, name string, def int, usage string) {
	f.fs.IntVar(p, name, def, usage)
}
func (f *flagSet) Bool(p *bool, name string, def bool, usage string) {
	f.fs.BoolVar(p, name, def, usage)
}
func (f *flagSet) Duration(p *time.Duration, name string, def time.Duration, usage string) {
	f.fs.DurationVar(p, name, def, usage)
}

// parse reads the command line, then fills every flag it did not set from
// its environment twin. Errors name the flag or the variable.
func (f *flagSet) parse(args []string) error {
	if err := f.fs.Parse(args); err != nil {
		return err
	}
	set := map[string]bool{}
	f.fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	var errs []error
	f.fs.VisitAll(func(fl *flag.Flag) {
		if set[fl.Name] {
			return
		}
		if v := f.getenv(envName(fl.Name)); v != "" {
			if err := f.fs.Set(fl.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s: invalid value %q: %v", envName(fl.Name), v, err))
			}
		}
	})
	return errors.Join(errs...)
}

// args returns the positional arguments after the flags.
func (f *flagSet) args() []string { return f.fs.Args() }
