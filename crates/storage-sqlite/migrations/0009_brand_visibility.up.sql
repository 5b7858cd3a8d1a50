-- Brand visibility. An alias snapshot is an immutable entity set (brand and competitors with
-- their aliases and domains) of a workspace, identified by the canonical hash of its content;
-- the snapshot put most recently (`current_since`) is the workspace's current one.
CREATE TABLE alias_snapshots (
    id             TEXT PRIMARY KEY,
    org_id         TEXT NOT NULL,
    workspace_id   TEXT NOT NULL,
    content_hash   TEXT NOT NULL,
    entities       TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    current_since  TEXT NOT NULL
);
CREATE UNIQUE INDEX ux_alias_snapshots_content ON alias_snapshots (org_id, workspace_id, content_hash);
CREATE INDEX ix_alias_snapshots_current ON alias_snapshots (org_id, workspace_id, current_since DESC, id DESC);

-- One analysis of one answer: keyed by (result, snapshot, extractor version), so analyses of one
-- answer with several snapshots or rule versions coexist and writing one twice changes nothing.
-- The result's dimensions are copied in, so visibility numbers never read result rows.
CREATE TABLE result_analyses (
    result_id             TEXT NOT NULL REFERENCES prompt_results (id),
    alias_snapshot_id     TEXT NOT NULL REFERENCES alias_snapshots (id),
    extractor_version     TEXT NOT NULL,
    org_id                TEXT NOT NULL,
    workspace_id          TEXT NOT NULL,
    template_id           TEXT NOT NULL,
    model_id              TEXT NOT NULL,
    provider              TEXT NOT NULL,
    country               TEXT NOT NULL,          -- '' when the run had none
    provider_version_key  TEXT NOT NULL,          -- '' when unknown
    is_fake               INTEGER NOT NULL,
    result_created_at     TEXT NOT NULL,
    day                   TEXT NOT NULL,          -- UTC date of result_created_at, YYYY-MM-DD
    analysis              TEXT NOT NULL,
    analysed_at           TEXT NOT NULL,
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
    result_id          TEXT NOT NULL,
    alias_snapshot_id  TEXT NOT NULL,
    extractor_version  TEXT NOT NULL,
    entity             TEXT NOT NULL,
    mentioned          INTEGER NOT NULL,
    rank               INTEGER,
    cited              INTEGER NOT NULL,
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
    alias_snapshot_id     TEXT NOT NULL,
    extractor_version     TEXT NOT NULL,
    day                   TEXT NOT NULL,
    template_id           TEXT NOT NULL,
    model_id              TEXT NOT NULL,
    provider              TEXT NOT NULL,
    country               TEXT NOT NULL,
    provider_version_key  TEXT NOT NULL,
    is_fake               INTEGER NOT NULL,
    entity                TEXT NOT NULL,
    n_answers             INTEGER NOT NULL,
    n_mentioned           INTEGER NOT NULL,
    rank_sum              INTEGER NOT NULL,
    n_ranked              INTEGER NOT NULL,
    n_cited               INTEGER NOT NULL,
    PRIMARY KEY (org_id, workspace_id, alias_snapshot_id, extractor_version, day, template_id,
                 model_id, provider, country, provider_version_key, is_fake, kind, entity)
);

-- Re-analysis jobs: analyse a workspace's stored answers again with a snapshot. A job is leased
-- by one process at a time; an expired lease (the process died) lets another resume it from
-- its cursor. Re-analysing an answer twice writes nothing the second time.
CREATE TABLE reanalysis_jobs (
    id                 TEXT PRIMARY KEY,
    org_id             TEXT NOT NULL,
    workspace_id       TEXT NOT NULL,
    alias_snapshot_id  TEXT NOT NULL REFERENCES alias_snapshots (id),
    extractor_version  TEXT NOT NULL,
    range_from         TEXT,
    range_to           TEXT,
    status             TEXT NOT NULL,            -- queued, running, succeeded, failed
    total              INTEGER NOT NULL,
    processed          INTEGER NOT NULL,
    analysed           INTEGER NOT NULL,
    cursor_created_at  TEXT,
    cursor_id          TEXT,
    error              TEXT,
    runner_id          TEXT,
    lease_until        TEXT,
    created_at         TEXT NOT NULL,
    started_at         TEXT,
    finished_at        TEXT
);
CREATE INDEX ix_reanalysis_jobs_open ON reanalysis_jobs (status, lease_until) WHERE status IN ('queued', 'running');
CREATE INDEX ix_reanalysis_jobs_ws ON reanalysis_jobs (org_id, workspace_id, created_at DESC);
