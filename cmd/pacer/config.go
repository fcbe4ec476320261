package main

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/pacerhq/pacer/jobs"
	httpkind "github.com/pacerhq/pacer/jobs/http"
	"github.com/pacerhq/pacer/ratelimit"
)

// fileConfig is the credentials file (--config): one table per credential,
// naming where its token is, never the token itself, and the quotas the
// upstream grants it.
//
//	[credentials.research]
//	token_env  = "X_BEARER_TOKEN"     # or token_file = "/run/secrets/x-token"
//	quota      = "900/15m"            # one quota, named after the credential;
//	                                  # none: pacer learns it from the upstream
//
//	[credentials.app]
//	token_file = "/run/secrets/x-app"
//	[[credentials.app.quotas]]        # or several, each named
//	name  = "app-15m"                 # the upstream's headers describe the first
//	limit = "450/15m"
//	[[credentials.app.quotas]]
//	name    = "app-1s"
//	limit   = "1/s"
//	sliding = true                    # counted over any span, not fixed windows
//
//	[pools.research]                  # credentials a job may spread its requests over
//	credentials = ["research", "app"] # each request goes to the one with the most quota left
//
//	[credentials.example]             # an API that takes a key in a header of its own
//	token_env = "EXAMPLE_API_KEY"
//	header    = "X-Api-Key"           # sends the raw token; default "Authorization: Bearer <token>"
//
//	[http]                            # the http_get kind
//	allow_hosts = ["api.example.org", "*.example.com"] # the only hosts its jobs may reach
//
//	[notify]                          # word of a job's ending (notifycfg.go)
//	allow_hosts        = ["hooks.example.org"] # the only hosts a job's webhook may be on
//	webhook_secret_env = "PACER_WEBHOOK_SECRET" # or webhook_secret_file: the HMAC key
//	public_url         = "https://pacer.example.org" # messages link to the job's page
//	[notify.smtp]
//	host = "smtp.example.org"
//	port = 587                        # default; STARTTLS whenever the server offers it
//	from = "pacer@example.org"
//	username = "pacer"                # optional; password_env or password_file then
//	password_env = "PACER_SMTP_PASSWORD"
//	ca_file = "/etc/pacer/smtp-ca.pem" # optional: trust this CA instead of the system's
type fileConfig struct {
	Credentials map[string]credentialConfig `toml:"credentials"`
	Pools       map[string]poolConfig       `toml:"pools"`
	HTTP        httpConfig                  `toml:"http"`
	Notify      notifyConfig                `toml:"notify"`
}

// httpConfig configures the http_get kind.
type httpConfig struct {
	AllowHosts []string `toml:"allow_hosts"`
}

type poolConfig struct {
	Credentials []string `toml:"credentials"`
}

// settings are what a credentials file declares.
type settings struct {
	creds jobs.Credentials
	pools jobs.Pools
	// allowHosts are the hosts http_get jobs may reach; none refuses them all.
	allowHosts []string
	// notify is the [notify] table, checked; its secrets are read by
	// notifyConfig.notifier, in the processes that send.
	notify notifyConfig
}

type credentialConfig struct {
	TokenEnv  string        `toml:"token_env"`
	TokenFile string        `toml:"token_file"`
	Header    string        `toml:"header"`
	Quota     string        `toml:"quota"`
	Quotas    []quotaConfig `toml:"quotas"`
}

type quotaConfig struct {
	Name    string `toml:"name"`
	Limit   string `toml:"limit"`
	Sliding bool   `toml:"sliding"`
}

var credentialName = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,62}$`)

// parseConfig reads a credentials file's text. Tokens are resolved through
// getenv and readFile; with getenv nil they are not read at all, for
// processes that only need the credentials' names and quotas (serve), so
// that tokens live only where requests are made. Every error names the key
// that is wrong; a token never appears in one.
func parseConfig(data []byte, getenv func(string) string, readFile func(string) ([]byte, error)) (settings, error) {
	var fc fileConfig
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&fc)
	if err != nil {
		return settings{}, fmt.Errorf("config: %w", err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		sort.Strings(keys)
		return settings{}, fmt.Errorf("config: unknown key %s (known: credentials.<name>.token_env, token_file, header, quota, quotas.name, quotas.limit, quotas.sliding; pools.<name>.credentials; http.allow_hosts; notify.allow_hosts, webhook_secret_env, webhook_secret_file, public_url, smtp.host, smtp.port, smtp.from, smtp.username, smtp.password_env, smtp.password_file, smtp.ca_file)", strings.Join(keys, ", "))
	}
	if len(fc.Credentials) == 0 {
		return settings{}, fmt.Errorf("config: no [credentials.<name>] declared")
	}
	creds := make(jobs.Credentials, len(fc.Credentials))
	quotaOwners := map[string]string{} // the ledger keys quotas by name: one name, one quota
	names := make([]string, 0, len(fc.Credentials))
	for name := range fc.Credentials {
		names = append(names, name)
	}
	sort.Strings(names) // so that a duplicate is reported the same way every time
	for _, name := range names {
		cc := fc.Credentials[name]
		if !credentialName.MatchString(name) {
			return settings{}, fmt.Errorf("config: credentials.%q: a name is 1-63 lower-case letters, digits, '_', '.' or '-'", name)
		}
		cred := jobs.Credential{Name: name, Header: cc.Header}
		if cc.Header != "" {
			if err := checkHeaderName(cc.Header); err != nil {
				return settings{}, fmt.Errorf("config: credentials.%s.header: %w", name, err)
			}
		}
		switch {
		case cc.TokenEnv != "" && cc.TokenFile != "":
			return settings{}, fmt.Errorf("config: credentials.%s: set token_env or token_file, not both", name)
		case getenv == nil && (cc.TokenEnv != "" || cc.TokenFile != ""):
			// Names only: the source is declared, which is all serve checks.
		case cc.TokenEnv != "":
			cred.Token = strings.TrimSpace(getenv(cc.TokenEnv))
			if cred.Token == "" {
				return settings{}, fmt.Errorf("config: credentials.%s.token_env: environment variable %s is not set", name, cc.TokenEnv)
			}
		case cc.TokenFile != "":
			b, err := readFile(cc.TokenFile)
			if err != nil {
				return settings{}, fmt.Errorf("config: credentials.%s.token_file: %w", name, err)
			}
			cred.Token = strings.TrimSpace(string(b))
			if cred.Token == "" {
				return settings{}, fmt.Errorf("config: credentials.%s.token_file: %s is empty", name, cc.TokenFile)
			}
		default:
			return settings{}, fmt.Errorf("config: credentials.%s: set token_env or token_file", name)
		}
		if cc.Quota != "" && len(cc.Quotas) > 0 {
			return settings{}, fmt.Errorf("config: credentials.%s: set quota or quotas, not both", name)
		}
		if cc.Quota != "" {
			cc.Quotas = []quotaConfig{{Name: name, Limit: cc.Quota}}
		}
		for i, qc := range cc.Quotas {
			field := fmt.Sprintf("credentials.%s.quotas[%d]", name, i)
			if cc.Quota != "" {
				field = fmt.Sprintf("credentials.%s.quota", name)
			}
			if !credentialName.MatchString(qc.Name) {
				return settings{}, fmt.Errorf("config: %s.name: %q is not 1-63 lower-case letters, digits, '_', '.' or '-'", field, qc.Name)
			}
			if owner, dup := quotaOwners[qc.Name]; dup {
				return settings{}, fmt.Errorf("config: %s.name: quota %q is already declared by credential %s", field, qc.Name, owner)
			}
			quotaOwners[qc.Name] = name
			limit, window, err := ratelimit.ParseLimit(qc.Limit)
			if err != nil {
				if cc.Quota != "" {
					return settings{}, fmt.Errorf("config: %s: %w", field, err)
				}
				return settings{}, fmt.Errorf("config: %s.limit: %w", field, err)
			}
			cred.Quotas = append(cred.Quotas, ratelimit.Quota{Key: qc.Name, Limit: limit, Window: window, Sliding: qc.Sliding})
		}
		creds[name] = cred
	}
	for name, c := range creds {
		// A credential without quotas learns its upstream's under its own
		// name, which no declared quota may then use.
		if owner, clash := quotaOwners[name]; clash && len(c.Quotas) == 0 {
			return settings{}, fmt.Errorf("config: credentials.%s declares no quota, so pacer learns it under the name %q, which credential %s's quota already has", name, name, owner)
		}
	}
	pools := make(jobs.Pools, len(fc.Pools))
	for name, pc := range fc.Pools {
		if !credentialName.MatchString(name) {
			return settings{}, fmt.Errorf("config: pools.%q: a name is 1-63 lower-case letters, digits, '_', '.' or '-'", name)
		}
		pools[name] = pc.Credentials
	}
	if err := pools.Validate(creds); err != nil {
		return settings{}, fmt.Errorf("config: pools.%w", err)
	}
	if _, err := httpkind.NewGet(httpkind.Config{AllowHosts: fc.HTTP.AllowHosts}); err != nil {
		if inner := errors.Unwrap(err); inner != nil {
			err = inner
		}
		return settings{}, fmt.Errorf("config: http.%w", err)
	}
	if err := fc.Notify.check(); err != nil {
		return settings{}, fmt.Errorf("config: notify.%w", err)
	}
	return settings{creds: creds, pools: pools, allowHosts: fc.HTTP.AllowHosts, notify: fc.Notify}, nil
}

// checkHeaderName checks a credential's header: an HTTP header name (RFC
// 9110 token) that can carry a token, so not Host or Cookie, which the
// client sets or which would send the token as a cookie.
func checkHeaderName(h string) error {
	if h == "" || strings.IndexFunc(h, func(r rune) bool {
		return r > 0x7e || r <= ' ' || strings.ContainsRune("\"(),/:;<=>?@[\\]{}", r)
	}) >= 0 {
		return fmt.Errorf("%q is not a header name", h)
	}
	switch http.CanonicalHeaderKey(h) {
	case "Host", "Cookie", "Content-Length", "Transfer-Encoding", "Connection":
		return fmt.Errorf("%s cannot carry a token", http.CanonicalHeaderKey(h))
	}
	return nil
}

// loadConfig reads the credentials file at path; getenv nil reads names and
// quotas only, no tokens.
func loadConfig(path string, getenv func(string) string) (settings, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return settings{}, fmt.Errorf("-config: %w", err)
	}
	return parseConfig(data, getenv, os.ReadFile)
}
