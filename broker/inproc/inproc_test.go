package inproc_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/pacerhq/pacer/broker"
	"github.com/pacerhq/pacer/broker/brokertest"
	"github.com/pacerhq/pacer/broker/inproc"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestConformance(t *testing.T) {
	t.Parallel()
	brokertest.Run(t, func(t testing.TB) broker.Broker {
		b := inproc.New()
		t.Cleanup(func() {
			if err := b.Close(); err != nil {
				t.Errorf("close broker: %v", err)
			}
		})
		return b
	})
}
