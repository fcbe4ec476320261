package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// minAdminTokenLen is the shortest admin token pacer accepts: a token is
// the only thing between the network and the jobs.
const minAdminTokenLen = 16

// readAdminToken sets o.adminToken from the file -admin-token-file names
// (env PACER_ADMIN_TOKEN_FILE), else from PACER_ADMIN_TOKEN; neither leaves
// it empty, and pacer then listens on loopback only.
func (o *options) readAdminToken(getenv func(string) string) error {
	token, source := getenv("PACER_ADMIN_TOKEN"), "PACER_ADMIN_TOKEN"
	if o.adminTokenFile != "" {
		b, err := os.ReadFile(o.adminTokenFile)
		if err != nil {
			return fmt.Errorf("-admin-token-file: %w", err)
		}
		token, source = string(b), "-admin-token-file"
		if strings.TrimSpace(token) == "" {
			return errors.New("-admin-token-file: the file is empty")
		}
	}
	token = strings.TrimSpace(token)
	if token != "" && len(token) < minAdminTokenLen {
		return fmt.Errorf("%s: the admin token is %d characters; use at least %d (e.g. openssl rand -hex 32)", source, len(token), minAdminTokenLen)
	}
	o.adminToken = token
	return nil
}
