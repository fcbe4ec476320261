// Package annotate holds pacer's annotate kind ([Kind]): it creates
// annotation instances, one per (item, annotator) pair, for a list of items,
// a list of annotators and how many annotators each item needs. It owns the
// kind's params and their validation, the assignment of items to annotators
// ([Assign]) and how items are split into tasks.
//
// Assignment is deterministic and even: the instances of items 0, 1, 2, …
// take the annotators round robin, so at every point no annotator has more
// than one instance above another. Instances are keyed by (scope, item,
// annotator) in the store, so a job run again over the same items creates
// nothing twice.
//
// The kind makes no upstream request: Do computes its task's instances and
// returns them in [jobs.Outcome.Instances], and the worker loop commits them
// with the task's done mark, in one transaction. annotate imports jobs only,
// never store, broker or web.
//
// Items come from an uploaded list, one per line. Reading a finished job's
// results as items (a source_job param) needs the store before planning, and
// is not supported yet.
package annotate
