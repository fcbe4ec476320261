package main

import (
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pacerhq/pacer/jobs"
	"github.com/pacerhq/pacer/notify"
)

// notifyConfig is the config file's [notify] table: where word of a job's
// ending may go. It names where its secrets are, never the secrets.
type notifyConfig struct {
	AllowHosts        []string    `toml:"allow_hosts"`
	WebhookSecretEnv  string      `toml:"webhook_secret_env"`
	WebhookSecretFile string      `toml:"webhook_secret_file"`
	PublicURL         string      `toml:"public_url"`
	SMTP              *smtpConfig `toml:"smtp"`
}

// smtpConfig is [notify.smtp]: the server that relays pacer's email.
type smtpConfig struct {
	Host         string `toml:"host"`
	Port         int    `toml:"port"`
	From         string `toml:"from"`
	Username     string `toml:"username"`
	PasswordEnv  string `toml:"password_env"`
	PasswordFile string `toml:"password_file"`
	CAFile       string `toml:"ca_file"`
}

// check validates the table without reading any secret. The error starts
// with the key below notify ("allow_hosts[0] ...", "smtp.port: ...").
func (c notifyConfig) check() error {
	if _, err := notify.ParseAllowlist(c.AllowHosts); err != nil {
		return err
	}
	if c.WebhookSecretEnv != "" && c.WebhookSecretFile != "" {
		return errors.New("webhook_secret_env: set webhook_secret_env or webhook_secret_file, not both")
	}
	if len(c.AllowHosts) > 0 && !c.webhooks() {
		return errors.New("allow_hosts: webhooks need a secret to sign with: set webhook_secret_env or webhook_secret_file")
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
			return fmt.Errorf("public_url: %q is not an absolute http(s) URL without credentials", c.PublicURL)
		}
	}
	if c.SMTP == nil {
		return nil
	}
	s := c.SMTP
	switch {
	case s.PasswordEnv != "" && s.PasswordFile != "":
		return errors.New("smtp.password_env: set password_env or password_file, not both")
	case s.Username == "" && (s.PasswordEnv != "" || s.PasswordFile != ""):
		return errors.New("smtp.username: a password is set but no username")
	case s.Username != "" && s.PasswordEnv == "" && s.PasswordFile == "":
		return errors.New("smtp.password_env: username is set; set password_env or password_file")
	}
	_, err := notify.NewMailer(notify.MailerConfig{Host: s.Host, Port: s.Port, From: s.From})
	if err != nil {
		return errors.New(strings.Replace(err.Error(), "smtp ", "smtp.", 1))
	}
	return nil
}

// webhooks reports whether a webhook secret is declared.
func (c notifyConfig) webhooks() bool { return c.WebhookSecretEnv != "" || c.WebhookSecretFile != "" }

// policy is what jobs may name, as the service checks it.
func (c notifyConfig) policy() jobs.NotifyPolicy {
	al, _ := notify.ParseAllowlist(c.AllowHosts) // checked by parseConfig
	return jobs.NotifyPolicy{Webhooks: c.webhooks(), WebhookHosts: al, Email: c.SMTP != nil}
}

// secret reads a secret from the environment variable env or the file file
// (one of them is set), naming key in errors; the secret never appears in
// one.
func secret(key, env, file string, getenv func(string) string, readFile func(string) ([]byte, error)) (string, error) {
	if env != "" {
		v := strings.TrimSpace(getenv(env))
		if v == "" {
			return "", fmt.Errorf("config: notify.%s_env: environment variable %s is not set", key, env)
		}
		return v, nil
	}
	b, err := readFile(file)
	if err != nil {
		return "", fmt.Errorf("config: notify.%s_file: %w", key, err)
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return "", fmt.Errorf("config: notify.%s_file: %s is empty", key, file)
	}
	return v, nil
}

// senders returns the delivery loop's configuration but its store: the
// senders the table configures, with their secrets read through getenv and
// readFile, before any connection is opened. With neither webhooks nor
// email configured the loop still runs, failing for good any notification
// that a job named under an earlier config.
func (c notifyConfig) senders(getenv func(string) string, readFile func(string) ([]byte, error), log *slog.Logger) (jobs.NotifierConfig, error) {
	cfg := jobs.NotifierConfig{PublicURL: c.PublicURL, Logger: log}
	if c.webhooks() {
		key, err := secret("webhook_secret", c.WebhookSecretEnv, c.WebhookSecretFile, getenv, readFile)
		if err != nil {
			return cfg, err
		}
		al, _ := notify.ParseAllowlist(c.AllowHosts)
		hook, err := notify.NewWebhook(notify.WebhookConfig{Secret: []byte(key), Allow: al})
		if err != nil {
			return cfg, fmt.Errorf("config: notify: %w", err)
		}
		cfg.Webhook = hook
	}
	if sc := c.SMTP; sc != nil {
		mc := notify.MailerConfig{Host: sc.Host, Port: sc.Port, From: sc.From, Username: sc.Username}
		if sc.Username != "" {
			pw, err := secret("smtp.password", sc.PasswordEnv, sc.PasswordFile, getenv, readFile)
			if err != nil {
				return cfg, err
			}
			mc.Password = pw
		}
		if sc.CAFile != "" {
			pem, err := readFile(sc.CAFile)
			if err != nil {
				return cfg, fmt.Errorf("config: notify.smtp.ca_file: %w", err)
			}
			mc.RootCAs = x509.NewCertPool()
			if !mc.RootCAs.AppendCertsFromPEM(pem) {
				return cfg, fmt.Errorf("config: notify.smtp.ca_file: %s holds no PEM certificate", sc.CAFile)
			}
		}
		mail, err := notify.NewMailer(mc)
		if err != nil {
			return cfg, fmt.Errorf("config: notify.%w", err)
		}
		cfg.Email = mail
	}
	return cfg, nil
}

// startNotifier sets up c's delivery loop over its store, counting on reg.
func (c *components) startNotifier(nc jobs.NotifierConfig, reg prometheus.Registerer) error {
	nc.Store, nc.Metrics = c.store, jobs.NewNotifierMetrics(reg)
	n, err := jobs.NewNotifier(nc)
	if err != nil {
		return err
	}
	c.notifier = n
	return nil
}
