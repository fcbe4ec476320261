package storetest

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/pacerhq/pacer/store"
)

func (su suite) testRetiredCredentials(t *testing.T) {
	s := su.newStore(t)
	ctx := t.Context()
	if list, err := s.ListRetiredCredentials(ctx); err != nil || len(list) != 0 {
		t.Fatalf("a new store lists retired credentials %v, %v", list, err)
	}
	if err := s.RetireCredential(ctx, "user", "401 Unauthorized", t0); err != nil {
		t.Fatal(err)
	}
	if err := s.RetireCredential(ctx, "app", "403 Forbidden: suspended", t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	// Retiring again keeps the first record.
	if err := s.RetireCredential(ctx, "user", "401 again", t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	want := []store.RetiredCredential{
		{Name: "app", Reason: "403 Forbidden: suspended", RetiredAt: t0.Add(time.Second)},
		{Name: "user", Reason: "401 Unauthorized", RetiredAt: t0},
	}
	list, err := s.ListRetiredCredentials(ctx)
	if err != nil || !reflect.DeepEqual(list, want) {
		t.Fatalf("ListRetiredCredentials = %+v, %v; want %+v", list, err, want)
	}
	if err := s.RestoreCredential(ctx, "user"); err != nil {
		t.Fatal(err)
	}
	if err := s.RestoreCredential(ctx, "user"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("restoring a credential that is not retired: %v, want ErrNotFound", err)
	}
	if list, err := s.ListRetiredCredentials(ctx); err != nil || len(list) != 1 || list[0].Name != "app" {
		t.Fatalf("after restoring user: %+v, %v", list, err)
	}
	if err := s.RetireCredential(ctx, "", "x", t0); err == nil || errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
		t.Fatalf("retiring an unnamed credential: %v, want a plain error", err)
	}
}
