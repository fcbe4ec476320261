// Package rabbitmq is the distributed-mode broker: task ids travel on one
// durable quorum queue of a RabbitMQ server, so that workers on any machine
// share them and a message survives a broker restart.
//
// It owns everything RabbitMQ-specific and is the only package of pacer that
// imports amqp091-go (STYLE.md, "Dependency direction"). It imports no pacer
// package but its parent, broker.
//
// # Rules it follows
//
// These are amqp091-go's rules (its doc.go) and STYLE.md's:
//
//   - The queue is durable and of type quorum; messages are persistent
//     (DeliveryMode 2) and their body is [broker.EncodeTaskID].
//   - Publishing and consuming use separate connections, so that flow
//     control on a publisher never stalls the acknowledgements of a worker.
//   - A publishing channel is in confirm mode. [Broker.Publish] returns only
//     when every message has been confirmed by the server; a nack, an
//     unroutable message (messages are published as mandatory, so a missing
//     queue is reported instead of silently dropping them) or a channel that
//     dies before its confirms is an error. Confirms are awaited as deferred
//     confirmations, at most 256 outstanding per channel, so that a batch
//     of any size streams without waiting a round trip per message.
//   - Consumers acknowledge manually, one message at a time, and their
//     channel has Qos(prefetch). A consumer's channel belongs to that
//     consumer alone, so that closing it returns exactly that consumer's
//     unacknowledged messages to the queue.
//   - amqp091-go does not reconnect unless asked to (its experimental
//     Config.Recovery, which this package leaves off, so that reconnection,
//     logging and the consumer's channel stay in our hands). Each of the
//     two connections has a keeper goroutine that watches NotifyClose
//     (buffered, always drained) and dials again with exponential backoff
//     and jitter between [Config.ReconnectMin] and [Config.ReconnectMax],
//     logging each attempt at Warn. Consumers then redeclare the queue,
//     set Qos again and consume again, on the same Go channel that Consume
//     returned. Channels, in amqp091-go's words, are discarded after any
//     error and replaced by new ones.
//
// # Metrics
//
// [NewMetrics] counts reconnections by connection role, and
// [QueueCollector] asks the server at scrape time for the queue's ready
// messages and consumers (a passive declare over AMQP) and, when given the
// management API's URL, its unacknowledged messages, which AMQP does not
// report.
//
// What a reconnect means for callers: a Delivery received on the old
// connection can no longer be acknowledged (Ack returns an error, and the
// server redelivers the message, which the store's claim refuses if the task
// is done), and a Publish in flight returns an error (the caller publishes
// again; the store is the truth).
package rabbitmq
