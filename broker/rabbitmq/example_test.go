package rabbitmq_test

import (
	"context"
	"log/slog"
	"os"

	"github.com/pacerhq/pacer/broker/rabbitmq"
)

// A worker's use of the broker. It needs a server, so it is compiled but not
// run.
func ExampleNew() {
	ctx := context.Background()
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))

	b, err := rabbitmq.New(ctx, rabbitmq.Config{
		URL:    "amqp://pacer:secret@localhost:5672/", // from PACER_AMQP_URL in cmd/pacer
		Logger: logger,
	})
	if err != nil {
		logger.Error("connect to rabbitmq", "err", err)
		return
	}
	defer b.Close()

	deliveries, err := b.Consume(ctx, 8) // prefetch = worker concurrency
	if err != nil {
		logger.Error("consume", "err", err)
		return
	}
	for d := range deliveries {
		// ... claim task d.TaskID() in the store, run it, commit ...
		if err := d.Ack(); err != nil {
			// Harmless: the message comes back and the claim refuses it.
			logger.Warn("ack", "task_id", d.TaskID(), "err", err)
		}
	}
}
