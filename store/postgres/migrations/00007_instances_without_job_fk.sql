-- Annotation instances lose their foreign key to jobs. The key cost a lookup
-- and a key-share lock of the job row for every row inserted: with it, a
-- job's bulk insert of instances ran at about half the rate of a raw COPY
-- into the same table, and without it at about four fifths (pacer bench
-- rows, README.md). The reference holds by construction: instances are
-- inserted only by CompleteTask, for the job of the task it completes, a
-- job that the task's own foreign key keeps in place; and jobs are never
-- deleted. The index on job_id stays, for the export of a job's instances.

-- +goose Up
ALTER TABLE annotation_instances DROP CONSTRAINT annotation_instances_job_id_fkey;

-- +goose Down
ALTER TABLE annotation_instances
    ADD CONSTRAINT annotation_instances_job_id_fkey
    FOREIGN KEY (job_id) REFERENCES jobs (id) ON DELETE CASCADE;
