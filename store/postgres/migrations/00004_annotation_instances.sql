-- Annotation instances: an item that one annotator is to annotate, within a
-- scope (a project). The key spans jobs, so that a job run again over the
-- same items and annotators creates nothing twice; job_id names the job that
-- created the row, for its export.

-- +goose Up
CREATE TABLE annotation_instances (
    scope      text        COLLATE "C" NOT NULL,
    item_key   text        COLLATE "C" NOT NULL,
    annotator  text        COLLATE "C" NOT NULL,
    job_id     bigint      NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (scope, item_key, annotator)
);
CREATE INDEX annotation_instances_job ON annotation_instances (job_id, item_key, annotator);

-- +goose Down
DROP TABLE annotation_instances;
