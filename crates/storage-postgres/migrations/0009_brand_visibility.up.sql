-- Brand visibility. An alias snapshot is an immutable entity set (brand and competitors with
-- their aliases and domains) of a workspace, identified by the canonical hash of its content;
-- the snapshot put most recently (`current_since`) is the workspace's current one.
CREATE TABLE alias_snapshots (
    id             UUID PRIMARY KEY,
    org_id         TEXT NOT NULL,
    workspace_id   TEXT NOT NULL,
    content_hash   TEXT NOT NULL,
    entities       JSONB NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    current_since  TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX ux_alias_snapshots_content ON alias_snapshots (org_id, workspace_id, content_hash);
CREATE INDEX ix_alias_snapshots_current ON alias_snapshots (org_id, workspace_id, current_since DESC, id DESC);

-- One analysis of one answer: keyed by (result, snapshot, extractor version), so analyses of one
-- answer with several snapshots or rule versions coexist and writing one twice changes nothing.
-- The result's dimensions are copied in, so visibility numbers never read result rows.
CREATE TABLE result_analyses (
    result_id             UUID NOT NULL REFERENCES prompt_results (id),
    alias_snapshot_id     UUID NOT NULL REFERENCES alias_snapshots (id),
    extractor_version     TEXT NOT NULL,
    org_id                TEXT NOT NULL,
    workspace_id          TEXT NOT NULL,
    template_id           UUID NOT NULL,
    model_id              TEXT NOT NULL,
    provider              TEXT NOT NULL,
    country               TEXT NOT NULL,          -- '' when the run had none
    provider_version_key  TEXT NOT NULL,          -- '' when unknown
    is_fake               BOOLEAN NOT NULL,
    result_created_at     TIMESTAMPTZ NOT NULL,
    day                   TEXT NOT NULL,          -- UTC date of result_created_at, YYYY-MM-DD
    analysis              JSONB NOT NULL,
    analysed_at           TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (result_id, alias_snapshot_id, extractor_version)
);
CREATE INDEX ix_result_analyses_scope
    ON result_analyses (org_id, workspace_id, alias_snapshot_id, extractor_version, result_created_at);

-- A re-analysis goes through a workspace's answers in (created_at, id) order.
CREATE INDEX ix_results_ws_time_id ON prompt_results (org_id, workspace_id, created_at, id);

-- The entities an analysis found mentioned or cited (the others count as neither), and the
-- domains its citations point at (kind 'domain', entity = the host, cited).
CREATE TABLE result_mentions (
    kind               TEXT NOT NULL,
    result_id          UUID NOT NULL,
    alias_snapshot_id  UUID NOT NULL,
    extractor_version  TEXT NOT NULL,
    entity             TEXT NOT NULL,
    mentioned          BOOLEAN NOT NULL,
    rank               INTEGER,
    cited              BOOLEAN NOT NULL,
    PRIMARY KEY (result_id, alias_snapshot_id, extractor_version, kind, entity),
    FOREIGN KEY (result_id, alias_snapshot_id, extractor_version)
        REFERENCES result_analyses (result_id, alias_snapshot_id, extractor_version)
);

-- Daily roll-up of the analyses, written in the transaction that writes each analysis: the
-- visibility query reads whole UTC days here. entity '' counts the answers analysed; kind
-- 'domain' rows count the answers citing a domain.
CREATE TABLE visibility_daily (
    kind                  TEXT NOT NULL,
    org_id                TEXT NOT NULL,
    workspace_id          TEXT NOT NULL,
    alias_snapshot_id     UUID NOT NULL,
    extractor_version     TEXT NOT NULL,
    day                   TEXT NOT NULL,
    template_id           UUID NOT NULL,
    model_id              TEXT NOT NULL,
    provider              TEXT NOT NULL,
    country               TEXT NOT NULL,
    provider_version_key  TEXT NOT NULL,
    is_fake               BOOLEAN NOT NULL,
    entity                TEXT NOT NULL,
    n_answers             BIGINT NOT NULL,
    n_mentioned           BIGINT NOT NULL,
    rank_sum              BIGINT NOT NULL,
    n_ranked              BIGINT NOT NULL,
    n_cited               BIGINT NOT NULL,
    PRIMARY KEY (org_id, workspace_id, alias_snapshot_id, extractor_version, day, template_id,
                 model_id, provider, country, provider_version_key, is_fake, kind, entity)
);

-- Re-analysis jobs: analyse a workspace's stored answers again with a snapshot. A job is leased
-- by one process at a time; an expired lease (the process died) lets another resume it from
-- its cursor. Re-analysing an answer twice writes nothing the second time.
CREATE TABLE reanalysis_jobs (
    id                 UUID PRIMARY KEY,
    org_id             TEXT NOT NULL,
    workspace_id       TEXT NOT NULL,
    alias_snapshot_id  UUID NOT NULL REFERENCES alias_snapshots (id),
    extractor_version  TEXT NOT NULL,
    range_from         TIMESTAMPTZ,
    range_to           TIMESTAMPTZ,
    status             TEXT NOT NULL,            -- queued, running, succeeded, failed
    total              BIGINT NOT NULL,
    processed          BIGINT NOT NULL,
    analysed           BIGINT NOT NULL,
    cursor_created_at  TIMESTAMPTZ,
    cursor_id          UUID,
    error              TEXT,
    runner_id          UUID,
    lease_until        TIMESTAMPTZ,
    created_at         TIMESTAMPTZ NOT NULL,
    started_at         TIMESTAMPTZ,
    finished_at        TIMESTAMPTZ
);
CREATE INDEX ix_reanalysis_jobs_open ON reanalysis_jobs (status, lease_until) WHERE status IN ('queued', 'running');
CREATE INDEX ix_reanalysis_jobs_ws ON reanalysis_jobs (org_id, workspace_id, created_at DESC);
