// Package httpkind holds pacer's generic HTTP collection kind, http_get
// ([Get]): a GET per item of an id file against a URL template, or a
// paginated walk from a start URL, following a cursor found in each JSON
// page or the Link header's rel="next". It owns the kind's params, their
// validation, the host allowlist and how one task talks to the upstream.
//
// The directory is jobs/http, as STYLE.md names it, but the package is
// httpkind: a package named http would shadow net/http in every file that
// imports both, this one first.
//
// A kind knows its upstream and its params, nothing else: httpkind imports
// jobs (the [jobs.Kind] contract), never store, broker or web. It does not
// authenticate or pace its requests: the worker hands Do an http.Client that
// adds the job's credential and holds the quota. What it adds is the
// allowlist: Prepare refuses a URL whose host is not on it, and Do refuses a
// redirect or a Link that leaves it, so a job cannot send a credential to a
// host the operator did not name.
package httpkind
