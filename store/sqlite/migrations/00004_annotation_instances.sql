-- Annotation instances: an item that one annotator is to annotate, within a
-- scope (a project). The key spans jobs, so that a job run again over the
-- same items and annotators creates nothing twice; job_id names the job that
-- created the row, for its export. Times are INTEGER microseconds since the
-- Unix epoch.

-- +goose Up
CREATE TABLE annotation_instances (
    scope      TEXT    NOT NULL,
    item_key   TEXT    NOT NULL,
    annotator  TEXT    NOT NULL,
    job_id     INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (scope, item_key, annotator)
) STRICT, WITHOUT ROWID;
CREATE INDEX annotation_instances_job ON annotation_instances (job_id, item_key, annotator);

-- +goose Down
DROP TABLE annotation_instances;
