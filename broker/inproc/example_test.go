package inproc_test

import (
	"context"
	"fmt"

	"github.com/pacerhq/pacer/broker/inproc"
)

// A worker consumes task ids and acknowledges each one after its store
// commit; a requeued task comes back marked redelivered.
func ExampleNew() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	b := inproc.New()
	defer b.Close()

	if err := b.Publish(ctx, 42, 43); err != nil {
		fmt.Println(err)
		return
	}
	deliveries, err := b.Consume(ctx, 1)
	if err != nil {
		fmt.Println(err)
		return
	}

	d := <-deliveries
	fmt.Println(d.TaskID(), d.Redelivered())
	_ = d.Requeue() // not ready yet: let it come back

	for range 2 {
		d := <-deliveries
		fmt.Println(d.TaskID(), d.Redelivered())
		_ = d.Ack()
	}
	// Output:
	// 42 false
	// 42 true
	// 43 false
}
